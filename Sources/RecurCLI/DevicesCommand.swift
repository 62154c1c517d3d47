import ArgumentParser
import Recur

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the CPU device and every OpenCL device, and whether each is admitted for bit-identical work.")

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func validate() throws {
        try Check.parseTime { try Settings.checkEnvironment() }
    }

    /// Every device is listed; an entry of the tuning table that cannot be read is then named on
    /// stderr, one line each, and the exit status is 1.
    func run() throws {
        try guarded {
            let infos = Devices.all()
            if json { try Output.line(try Console.json(infos)) }
            for i in infos where !json {
                try Output.line("\(i.selector)  \(i.name)")
                if i.kind == .cpu {
                    try Output.line("    \(i.vendor); \(i.computeUnits) cores, SIMD width \(i.simdWidth ?? 0) floats, register tile \(i.registerTile ?? "?"), hardware FMA in this build: \(i.hardwareFMA == true ? "yes" : "NO (slow fmaf calls; see README)")")
                } else {
                    try Output.line("    platform \(i.platform); vendor \(i.vendor); driver \(i.driver); \(i.version); \(i.openCLCVersion)")
                    try Output.line("    \(i.computeUnits) compute units, \(i.globalMemoryBytes >> 20) MiB global memory, max allocation \(i.maxAllocationBytes >> 20) MiB")
                    try Output.line("    fp32: \((i.fpCapabilities ?? []).joined(separator: ", "))")
                    if let t = i.tuning { try Output.line("    kernels: \(t)") }
                }
                try Output.line("    admitted: \(i.admitted ? "yes" : "no") — \(i.reason)")
            }
            let problems = TuningCache.problems().map(\.message)
            for p in problems.dropLast() { Console.note("error: \(p)") }
            if let last = problems.last { throw Failure(last) }
        }
    }
}
