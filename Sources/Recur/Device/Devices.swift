import Foundation

/// Finding, admitting and choosing devices.
///
/// An OpenCL device is admitted for bit-identical work (NUMERICS rule 8) when its
/// CL_DEVICE_SINGLE_FP_CONFIG reports FMA, denormals, INF/NaN, round-to-nearest and correctly
/// rounded divide/sqrt, and a short identity self-test against the CPU device passes.
public enum Devices {
    /// The environment variable read when no `--device` is given.
    public static let environmentVariable = "RECUR_DEVICE"

    /// Every device: the CPU first, then each OpenCL device with its admission verdict.
    /// An OpenCL device that cannot be opened is listed, not admitted, with the error as reason.
    public static func all(threads: Int? = nil) -> [DeviceInfo] {
        var infos = [Device.cpu(threads: threads).info]
        for index in 0..<openCLCount() {
            do { infos.append(try openCL(index).info) } catch {
                infos.append(DeviceInfo(kind: .opencl, name: "opencl:\(index)", vendor: "", driver: "", version: "",
                                        computeUnits: 0, globalMemoryBytes: 0, maxAllocationBytes: 0, admitted: false,
                                        reason: "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)",
                                        selector: "opencl:\(index)"))
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

    /// Chooses a device from `auto`, `cpu`, `opencl` or `opencl:N`, and says why in `note`.
    ///
    /// `auto` takes the first admitted OpenCL device, else the CPU. `opencl` takes the first
    /// admitted OpenCL device or throws; it never falls back to the CPU. `opencl:N` opens device N
    /// even when it is not admitted, and the note says its results are not guaranteed identical.
    /// A setting that cannot be used (`DeviceError.setting`: a bad `RECUR_TUNING`, tuning table
    /// entry, ...) is thrown, never a reason for `auto` to take the CPU.
    public static func select(_ spec: String, threads: Int? = nil) throws -> (device: Device, note: String) {
        try select(DeviceRequest(spec), threads: threads)
    }

    /// `select` for a request that knows where it came from.
    public static func select(_ request: DeviceRequest, threads: Int? = nil) throws -> (device: Device, note: String) {
        try request.checkForm()
        let spec = request.spec
        switch spec {
        case "cpu":
            return (Device.cpu(threads: threads), "using cpu (requested)")
        case "auto", "opencl":
            var reasons: [String] = []
            let count = openCLCount()
            for index in 0..<count {
                do {
                    let d = try openCL(index)
                    if d.info.admitted { return (d, "using opencl:\(index) \(d.info.name) (\(d.info.platform)): first admitted OpenCL device") }
                    reasons.append("opencl:\(index) \(d.info.name): \(d.info.reason)")
                } catch let e as DeviceError where e.isSetting {
                    throw e
                } catch {
                    reasons.append("opencl:\(index): \(String(describing: error).split(separator: "\n").first ?? "")")
                }
            }
            let why = count == 0 ? "no OpenCL device found (no ICD or platform)" : "no OpenCL device admitted: " + reasons.joined(separator: "; ")
            if spec == "opencl" { throw DeviceError.unavailable("\(request.label): \(why)") }
            return (Device.cpu(threads: threads), "using cpu: \(why)")
        default:
            let index = request.openCLIndex!
            let d: Device
            do { d = try openCL(index) } catch let e as DeviceError where e.isSetting { throw e } catch {
                throw DeviceError.unavailable("\(request.label): \(error)")
            }
            let note = d.info.admitted ? "using \(spec) \(d.info.name) (requested; admitted)"
                : "using \(spec) \(d.info.name) (requested) — NOT admitted, results may differ from the CPU: \(d.info.reason)"
            return (d, note)
        }
    }
}

extension DeviceError {
    /// Whether this is a `.setting` error.
    public var isSetting: Bool { if case .setting = self { true } else { false } }
}
