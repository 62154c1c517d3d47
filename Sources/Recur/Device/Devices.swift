import Foundation

/// Finding, admitting and choosing devices.
///
/// An OpenCL device is admitted for bit-identical work (NUMERICS rule 8) when its
/// CL_DEVICE_SINGLE_FP_CONFIG reports FMA, denormals, INF/NaN, round-to-nearest and correctly
/// rounded divide/sqrt, and a short identity self-test against the CPU device passes.
public enum Devices {
    /// The environment variable read when no `--device` is given.
    public static let environmentVariable = "RECUR_DEVICE"

    /// Every device of every registered family (the CPU first), with its admission verdict. A device
    /// that cannot be opened is listed, not admitted, with the error as reason.
    public static func all(threads: Int? = nil) -> [DeviceInfo] {
        var infos: [DeviceInfo] = []
        for family in families {
            for index in 0..<family.count() {
                do { infos.append(try family.open(index, threads).info) } catch {
                    let selector = family.prefix == "cpu" ? "cpu" : "\(family.prefix):\(index)"
                    infos.append(DeviceInfo(kind: DeviceInfo.Kind(rawValue: family.prefix), name: selector, vendor: "", driver: "", version: "",
                                            computeUnits: 0, globalMemoryBytes: 0, maxAllocationBytes: 0, admitted: false,
                                            reason: "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)",
                                            selector: selector))
                }
            }
        }
        return infos
    }

    /// The number of OpenCL devices the ICD loader finds (0 without an ICD or platform).
    public static func openCLCount() -> Int { (try? CL.devices().count) ?? 0 }

    /// Opens OpenCL device `index` and decides its admission.
    public static func openCL(_ index: Int, tuning: KernelTuning? = nil) throws -> Device {
        let backend = try OpenCLBackend(index: index, tuning: tuning)
        let device = Device(backend: backend)
        if backend.info.admitted {
            let failed = selfTest(device)
            if let failed {
                backend.info.admitted = false
                backend.info.reason = "identity self-test failed: \(failed)"
            } else {
                backend.info.reason = "floating point meets NUMERICS rule 8; identity self-test passed"
            }
        }
        return device
    }

    /// The self-test cases: special inputs (subnormals, ±0, overflow) through the ops most
    /// sensitive to a compiler's liberties: fma chains, the portable math, division and sqrt.
    static var selfTestCases: [OpCase] {
        [OpCatalogue.matmul(MatmulShape(m: 23, n: 33, k: 41), start: 2, special: true)]
            + OpCatalogue.elementwise(1000, special: true).filter { ["unary", "reduce"].contains($0.op) }
            + OpCatalogue.cells(batch: 3, hidden: 37, special: true).filter { $0.op.hasPrefix("lstm") || $0.op.hasPrefix("gru") }
            + OpCatalogue.loss(rows: 13, cols: 65, special: true).filter { $0.op.hasPrefix("xent") }
            + OpCatalogue.optimizers(257).filter { $0.op == "adam" || $0.op == "clip" }
    }

    /// nil when every self-test case is identical to the CPU; else the first failing case.
    static func selfTest(_ device: Device) -> String? {
        let cpu = Device.cpu()
        for c in selfTestCases {
            do {
                let comparison = OpComparison(try c.run(on: cpu, seed: 1), try c.run(on: device, seed: 1))
                if !comparison.identical { return "\(c) differs (max \(comparison.maxUlp) ulp)" }
            } catch {
                return "\(c): \(error)"
            }
        }
        return nil
    }

    /// The device asked for: `explicit` if given, else `RECUR_DEVICE`, else `auto`; the reason is in
    /// `note`. Messages name the flag or the variable the request came from.
    public static func preferred(_ explicit: String? = nil, threads: Int? = nil) throws -> (device: Device, note: String) {
        try select(DeviceRequest.from(flag: explicit), threads: threads)
    }

    /// Chooses a device from `auto`, a family's prefix (`cpu`, `opencl`) or `prefix:N` (`opencl:N`), and
    /// says why in `note`.
    ///
    /// `auto` takes the first admitted device of the preferred families (accelerators, in registration
    /// order), else the CPU. `opencl` (any preferred family's prefix) takes its first admitted device or
    /// throws; it never falls back to the CPU. `opencl:N` opens device N even when it is not admitted,
    /// and the note says its results are not guaranteed identical. A setting that cannot be used
    /// (`DeviceError.setting`: a bad `RECUR_TUNING`, tuning table entry, ...) is thrown, never a
    /// reason for `auto` to take the CPU.
    public static func select(_ spec: String, threads: Int? = nil) throws -> (device: Device, note: String) {
        try select(DeviceRequest(spec), threads: threads)
    }

    /// `select` for a request that knows where it came from.
    public static func select(_ request: DeviceRequest, threads: Int? = nil) throws -> (device: Device, note: String) {
        try request.checkForm()
        let spec = request.spec
        if spec == "cpu" { return (Device.cpu(threads: threads), "using cpu (requested)") }
        if let requested = request.family, let index = requested.index, let family = family(requested.prefix) {
            let count = family.count()
            guard index < count else {
                throw DeviceError.unavailable("\(request.label): no \(family.prefix == "opencl" ? "OpenCL" : family.prefix) device \(index); there \(count == 1 ? "is 1" : "are \(count)")")
            }
            let d: Device
            do { d = try family.open(index, threads) } catch let e as DeviceError where e.isSetting { throw e } catch {
                throw DeviceError.unavailable("\(request.label): \(error)")
            }
            let note = d.info.admitted ? "using \(spec) \(d.info.name) (requested; admitted)"
                : "using \(spec) \(d.info.name) (requested) — NOT admitted, results may differ from the CPU: \(d.info.reason)"
            return (d, note)
        }
        // `auto`, or a family's first admitted device
        let candidates = spec == "auto" ? families.filter(\.preferred) : families.filter { $0.prefix == spec }
        var reasons: [String] = [], found = 0
        for family in candidates {
            let count = family.count()
            found += count
            for index in 0..<count {
                let selector = "\(family.prefix):\(index)"
                do {
                    let d = try family.open(index, threads)
                    if d.info.admitted { return (d, "using \(selector) \(d.info.name)\(d.info.platform.isEmpty ? "" : " (\(d.info.platform))"): first admitted \(family.prefix == "opencl" ? "OpenCL" : family.prefix) device") }
                    reasons.append("\(selector) \(d.info.name): \(d.info.reason)")
                } catch let e as DeviceError where e.isSetting {
                    throw e
                } catch {
                    reasons.append("\(selector): \(String(describing: error).split(separator: "\n").first ?? "")")
                }
            }
        }
        let kinds = candidates.map { $0.prefix == "opencl" ? "OpenCL" : $0.prefix }.joined(separator: " or ")
        let why = found == 0 ? "no \(kinds) device found\(candidates.contains { $0.prefix == "opencl" } ? " (no ICD or platform)" : "")"
            : "no \(kinds) device admitted: " + reasons.joined(separator: "; ")
        if spec != "auto" { throw DeviceError.unavailable("\(request.label): \(why)") }
        return (Device.cpu(threads: threads), "using cpu: \(why)")
    }
}

extension DeviceError {
    /// Whether this is a `.setting` error.
    public var isSetting: Bool { if case .setting = self { true } else { false } }
}
