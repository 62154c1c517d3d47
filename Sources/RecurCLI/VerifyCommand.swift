import ArgumentParser
import Recur

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run the op catalogue on the CPU and on a device and compare the bits.",
        discussion: "Exit status 0 only if every op is bit-identical. With --device cpu the CPU device with all threads is compared against one thread.")

    @OptionGroup var options: DeviceOptions
    @Option(parsing: .unconditional, help: "Seed for inputs and for the extra shapes.") var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Extra cases with shapes drawn from the seed, beyond the fixed sweep (0...\(Self.maxCases)).") var cases: Int = 48
    @Option(name: .customLong("op"), help: "Only this op (repeatable), e.g. --op matmul --op adam.") var only: [String] = []
    @Option(help: "Only cases whose label contains this text.") var label: String?
    @Flag(help: "Print a JSON object.") var json = false

    struct OpReport: Codable {
        var op: String
        var cases: Int
        var identical: Bool
        var maxUlp: UInt64
        var firstDifference: String?
    }
    struct Report: Codable {
        var device: String
        var seed: UInt64
        var allIdentical: Bool
        var ops: [OpReport]
    }

    func validate() throws {
        try options.refuseThreadsOffCPU()
        try Check.range(cases, 0...Self.maxCases, "--cases")
        if label == "" { throw ValidationError("--label must not be empty (it selects the cases whose label contains it)") }
        if let unknown = only.first(where: { !OpCatalogue.ops.contains($0) }) {
            throw ValidationError("--op: unknown op '\(unknown)'; known: \(OpCatalogue.ops.joined(separator: ", "))")
        }
    }

    /// The cases are drawn before any runs; this many take hours on a CPU device already.
    static let maxCases = 100_000

    func run() throws {
        try guarded {
            let device = try options.open()
            let reference = Device.cpu(threads: device.info.kind == .cpu ? 1 : nil)
            var reports: [String: OpReport] = [:]
            let all = (OpCatalogue.fixed + OpCatalogue.random(seed: seed, count: cases)).filter { c in
                (only.isEmpty || only.contains(c.op)) && (label.map { c.label.contains($0) } ?? true)
            }
            if all.isEmpty { throw Failure("--label: no case of the chosen ops has a label containing '\(label ?? "")'") }
            for c in all {
                let cmp = OpComparison(try c.run(on: reference, seed: seed), try c.run(on: device, seed: seed))
                var r = reports[c.op] ?? OpReport(op: c.op, cases: 0, identical: true, maxUlp: 0)
                r.cases += 1
                if !cmp.identical {
                    r.identical = false
                    r.maxUlp = max(r.maxUlp, cmp.maxUlp)
                    if r.firstDifference == nil {
                        r.firstDifference = cmp.unwritten > 0 ? "\(c.label): \(cmp.unwritten) elements not written"
                            : "\(c.label): output \(cmp.firstDifference!.output) index \(cmp.firstDifference!.index)"
                    }
                }
                reports[c.op] = r
            }
            let ops = OpCatalogue.ops.compactMap { reports[$0] }
            let report = Report(device: "\(device.info.selector) \(device.info.name)", seed: seed,
                                allIdentical: ops.allSatisfy(\.identical), ops: ops)
            if json {
                try Output.line(try Console.json(report))
            } else {
                try Output.line("verify \(report.device) against the CPU, seed \(seed), \(all.count) cases")
                for r in ops {
                    let verdict = r.identical ? "identical" : "DIFFERS (max \(r.maxUlp) ulp; first: \(r.firstDifference ?? "?"))"
                    try Output.line("  \(r.op.padding(24)) \(String(r.cases).padding(4, left: true)) cases  \(verdict)")
                }
                try Output.line(report.allIdentical ? "all ops identical" : "NOT identical")
            }
            if !report.allIdentical { throw ExitCode(1) }
        }
    }
}

extension String {
    func padding(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: max(0, width - count))
        return left ? pad + self : self + pad
    }
}
