import Foundation

/// One kind of device, found by its selector prefix: `cpu`, `opencl` (`opencl:N`), …. A backend joins
/// Recur as a family (`Devices.register`); listing, `--device`, `RECUR_DEVICE` and `auto` go through
/// the registry only, so a new backend needs no edit of the device layer.
public struct DeviceFamily: Sendable {
    /// The selector prefix (lower case): `prefix` picks the first admitted device, `prefix:N` device N.
    public let prefix: String
    /// Whether `auto` tries this family's devices before the CPU (an accelerator).
    public let preferred: Bool
    /// How many devices the family finds now (0 when its driver or platform is missing).
    public let count: @Sendable () -> Int
    /// Opens device `index`; `threads` applies to devices whose work runs on host threads. The
    /// device's info says whether it is admitted for bit-identical work and why.
    public let open: @Sendable (_ index: Int, _ threads: Int?) throws -> Device

    public init(prefix: String, preferred: Bool, count: @escaping @Sendable () -> Int,
                open: @escaping @Sendable (_ index: Int, _ threads: Int?) throws -> Device) {
        self.prefix = prefix.lowercased(); self.preferred = preferred; self.count = count; self.open = open
    }

    /// The pure-Swift CPU device: one device, `cpu`.
    public static let cpu = DeviceFamily(prefix: "cpu", preferred: false, count: { 1 }, open: { _, threads in Device.cpu(threads: threads) })

    /// Every OpenCL device the ICD loader finds, `opencl:N`.
    public static let openCL = DeviceFamily(prefix: "opencl", preferred: true, count: { Devices.openCLCount() },
                                            open: { index, _ in try Devices.openCL(index) })
}

extension Devices {
    private static let registry = Registry()

    /// The registered families, in the order `auto` and `recur devices` visit them.
    public static var families: [DeviceFamily] { registry.families }

    /// Adds `family`, or replaces the one with its prefix.
    public static func register(_ family: DeviceFamily) { registry.register(family) }

    /// The family of `prefix`, if registered.
    public static func family(_ prefix: String) -> DeviceFamily? { families.first { $0.prefix == prefix } }

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [DeviceFamily] = [.cpu, .openCL]
        var families: [DeviceFamily] { lock.withLock { list } }
        func register(_ f: DeviceFamily) {
            lock.withLock {
                if let i = list.firstIndex(where: { $0.prefix == f.prefix }) { list[i] = f } else { list.append(f) }
            }
        }
    }
}
