import ArgumentParser
import Foundation
import Recur

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search the matmul and cell kernel parameters of an OpenCL device and store the fastest.",
        discussion: """
            Each matmul candidate is built, checked bit-identical against the CPU on the op catalogue's \
            matmul cases (one that differs is refused), then timed on the matmul shapes training uses. \
            With the winner, each cell kernel variant (scalar: a unit per work-item; v16: 16 per \
            work-item in float16) is checked on the cell and elementwise cases and timed on LSTM and GRU \
            cells of batch 64 × hidden 512. The winner goes to the per-user tuning table (tuning.json \
            beside the program cache), keyed by device name, driver and OpenCL version, and is used from \
            then on; RECUR_TUNING overrides it.
            """)

    @Option(help: "opencl or opencl:N (default: $RECUR_DEVICE, else the first admitted OpenCL device).") var device: String?
    @Option(parsing: .unconditional, help: "Timed runs per shape (median; ≥ 1).") var repeats: Int = 3
    @Option(help: "Try only these candidates, separated by ';' (e.g. \"matmul=simple;matmul=rb,RB_M=4,KB=128\"), checked as RECUR_TUNING is.") var only: String?
    @Flag(help: "Show the results without storing the winner.") var dryRun = false
    @Option(help: "Write every trial as JSON to this file.") var json: String?

    /// What is tuned: --device, else RECUR_DEVICE, else the first admitted OpenCL device.
    var request: DeviceRequest {
        let r = DeviceRequest.from(flag: device)
        return r.origin == .none ? DeviceRequest("opencl", origin: .none) : r
    }

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        try Check.parseTime {
            try request.checkForm()
            try Settings.checkEnvironment()
        }
        if request.family?.prefix == "cpu" {
            throw ValidationError("\(request.label): tuning is for OpenCL devices (opencl or opencl:N); the CPU device has no kernel parameters")
        }
        if let only { _ = try candidates(only, base: KernelTuning(matmul: .simple)) }
        if let json { try Check.writableFile(json, "--json") }
    }

    /// The --only candidates over `base`, each checked as RECUR_TUNING is.
    func candidates(_ only: String, base: KernelTuning) throws -> [KernelTuning] {
        let list: [KernelTuning]
        do { list = try only.split(separator: ";").map { try KernelTuning.parse(String($0), base: base) } } catch {
            throw ValidationError("--only: \(error)")
        }
        if list.isEmpty { throw ValidationError("--only: no candidate given") }
        return list
    }

    func run() throws {
        try guarded {
            let request = self.request
            // Opened with the simple kernel, so a stored tuning that no longer builds cannot block a new tune.
            let safe = KernelTuning(matmul: .simple)
            let chosen: Device
            if let index = request.openCLIndex {
                do { chosen = try Devices.openCL(index, tuning: safe) } catch { throw Failure("\(request.label): \(error)") }
            } else {
                let opened = (0..<Devices.openCLCount()).compactMap { try? Devices.openCL($0, tuning: safe) }
                guard let first = opened.first(where: { $0.info.admitted }) else {
                    throw Failure("\(request.origin == .none ? "tune" : request.label): no admitted OpenCL device to tune (`recur devices` says why); name one with --device opencl:N")
                }
                chosen = first
            }
            guard let index = Int(chosen.info.selector.dropFirst("opencl:".count)) else { throw Failure("\(request.label): not an OpenCL device") }
            let info = chosen.info
            let problems = TuningCache.problems()
            // A table that is not a JSON object could not take the winner: refused before the work.
            if !dryRun, let whole = problems.first(where: { $0.entry == nil }) { throw Failure(whole.message) }
            for p in problems where p.entry != TuningCache.key(chosen.info) { Console.note("kept as it is: \(p.message)") }
            var candidates = Tuner.candidates(for: info, maxWorkGroup: info.maxWorkGroupSize ?? 256)
            if let only { candidates = try self.candidates(only, base: KernelTuning.builtIn(for: info)) }
            Console.note("tuning \(info.selector) \(info.name): \(candidates.count) candidates, shapes "
                         + Tuner.shapes.map { "\($0.batch > 1 ? "b\($0.batch) " : "")\($0.m)x\($0.n)x\($0.k)\($0.transA ? "ᵀA" : "")\($0.transB ? "ᵀB" : "")" }.joined(separator: ", "))
            let trials: [Tuner.Trial]
            do {
                trials = try Tuner(index: index, repeats: repeats).run(candidates) { t in
                let detail = t.identical ? String(format: "%7.1f GFLOP/s  (", t.score) + t.gflops.map { String(format: "%.0f", $0) }.joined(separator: " ") + ")"
                    : "REFUSED: not bit-identical to the CPU"
                    try Output.line("  \(t.tuning.padding(40)) \(detail)")
                }
            } catch { throw Failure("\(error)") }
            guard let best = trials.first, best.identical, var tuning = candidates.first(where: { $0.description == best.tuning }) else {
                if let json { try writeReport(TuneReport(matmul: trials, cells: []), to: json) }
                throw Failure("no candidate was bit-identical to the CPU on \(info.name); nothing stored")
            }
            Console.note("cell kernels with \(best.tuning): " + Tuner.cellOps.joined(separator: ", ") + " (b64 h512), ms per call")
            let cellTrials: [Tuner.CellTrial]
            do {
                cellTrials = try Tuner(index: index, repeats: repeats).runCells(base: tuning) { t in
                    let detail = t.identical ? t.ms.map { String(format: "%.3f", $0) }.joined(separator: "  ") + String(format: "  (total %.3f ms)", t.total)
                        : "REFUSED: not bit-identical to the CPU"
                    try Output.line("  \(("cells=" + t.cells).padding(40)) \(detail)")
                }
            } catch { throw Failure("\(error)") }
            if let json { try writeReport(TuneReport(matmul: trials, cells: cellTrials), to: json) }
            guard let cells = cellTrials.first, cells.identical, let variant = KernelTuning.Cells(rawValue: cells.cells) else {
                throw Failure("no cell kernel variant was bit-identical to the CPU on \(info.name); nothing stored")
            }
            tuning.cells = variant
            // An entry for this device that cannot be read is replaced by the new one, and said so.
            let before: String
            do { let current = try KernelTuning.resolve(for: info); before = "\(current.tuning) (\(current.source))" } catch {
                before = "an entry that cannot be read, replaced unless --dry-run (\(error))"
            }
            try Output.line("best: \(tuning)  \(String(format: "%.1f", best.score)) GFLOP/s (matmul geometric mean), cells \(String(format: "%.3f", cells.total)) ms; "
                  + "in use before: \(before)")
            if dryRun { return }
            let file: String
            do { file = try TuningCache.store(tuning, for: info) } catch { throw Failure("\(error)") }
            try Output.line("stored for \(TuningCache.key(info)) in \(file)")
        }
    }
}

extension TuneCommand {
    func writeReport(_ report: TuneReport, to path: String) throws {
        try Check.write(try Console.json(report), to: path, "--json")
    }
}

/// `recur tune --json`: every matmul trial, then every cell trial, best first.
struct TuneReport: Encodable {
    var matmul: [Tuner.Trial]
    var cells: [Tuner.CellTrial]
}
