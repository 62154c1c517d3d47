import ArgumentParser
import Recur

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The main job: show the chosen device computing the same bits as the CPU.")

    @OptionGroup var options: DeviceOptions

    func run() throws {
        try guarded {
            let device = try options.open()
            let cpu = Device.cpu()
            print("Recur demo on \(device.info.selector) \(device.info.name)")
            var identical = 0, total = 0
            for c in OpCatalogue.fixed {
                let cmp = OpComparison(try c.run(on: cpu, seed: 2026), try c.run(on: device, seed: 2026))
                total += 1
                if cmp.identical { identical += 1 } else { print("  differs: \(c)") }
            }
            print("identity self-test: \(identical) of \(total) op cases bit-identical to the CPU device")
            if identical != total { throw ExitCode(1) }
        }
    }
}
