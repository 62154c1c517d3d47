import Foundation

/// The device asked for and where the request came from (the `--device` flag, `RECUR_DEVICE`, or
/// neither), so that a message names what the user actually set.
public struct DeviceRequest: Sendable, Equatable {
    public enum Origin: Sendable, Equatable { case flag, environment, none }
    /// `auto`, `cpu`, `opencl` or `opencl:N` when well formed; lowercased.
    public let spec: String
    public let origin: Origin

    /// The forms a request takes: `auto` and each registered family's `prefix` and `prefix:N`.
    public static var forms: String {
        let all = ["auto"] + Devices.families.flatMap { $0.prefix == "cpu" ? [$0.prefix] : [$0.prefix, "\($0.prefix):N"] }
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// `spec` from the given origin.
    public init(_ spec: String, origin: Origin = .flag) {
        self.spec = spec.lowercased()
        self.origin = origin
    }

    /// `flag` if given, else `RECUR_DEVICE` if set and not empty, else `auto`.
    public static func from(flag: String?) -> DeviceRequest {
        if let flag { return DeviceRequest(flag, origin: .flag) }
        if let env = ProcessInfo.processInfo.environment[Devices.environmentVariable], !env.isEmpty {
            return DeviceRequest(env, origin: .environment)
        }
        return DeviceRequest("auto", origin: .none)
    }

    /// `--device` or `RECUR_DEVICE`: what a message about the request's form names.
    public var source: String { origin == .environment ? Devices.environmentVariable : "--device" }

    /// `--device opencl:3` or `RECUR_DEVICE=opencl:3`: what a message about the device names.
    public var label: String { origin == .environment ? "\(source)=\(spec)" : "\(source) \(spec)" }

    /// The family's prefix and the device index of `prefix:N` (N decimal digits only: `opencl:+0` is
    /// no form); nil for `auto` and for a request that names no registered family.
    public var family: (prefix: String, index: Int?)? {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let f = Devices.family(parts[0]) else { return nil }
        guard parts.count == 2 else { return (f.prefix, nil) }
        let digits = parts[1]
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }), let index = Int(digits) else { return nil }
        return (f.prefix, index)
    }

    /// The index of `opencl:N`; nil for the other forms.
    public var openCLIndex: Int? { family?.prefix == "opencl" ? family?.index : nil }

    /// Throws a one-line message naming the source when the request is none of the forms.
    public func checkForm() throws {
        guard spec == "auto" || family != nil else {
            throw DeviceError.setting("\(source): unknown device '\(spec)' (expected \(Self.forms))")
        }
    }
}
