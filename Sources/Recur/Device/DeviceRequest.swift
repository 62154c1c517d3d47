import Foundation

/// The device asked for and where the request came from (the `--device` flag, `RECUR_DEVICE`, or
/// neither), so that a message names what the user actually set.
public struct DeviceRequest: Sendable, Equatable {
    public enum Origin: Sendable, Equatable { case flag, environment, none }
    /// `auto`, `cpu`, `opencl` or `opencl:N` when well formed; lowercased.
    public let spec: String
    public let origin: Origin

    /// The forms a request takes.
    public static let forms = "auto, cpu, opencl or opencl:N"

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

    /// The index of `opencl:N`, N decimal digits only (`opencl:+0` is no form); nil for the other forms.
    public var openCLIndex: Int? {
        guard spec.hasPrefix("opencl:") else { return nil }
        let digits = spec.dropFirst("opencl:".count)
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int(digits)
    }

    /// Throws a one-line message naming the source when the request is none of the forms.
    public func checkForm() throws {
        guard ["auto", "cpu", "opencl"].contains(spec) || openCLIndex != nil else {
            throw DeviceError.setting("\(source): unknown device '\(spec)' (expected \(Self.forms))")
        }
    }
}
