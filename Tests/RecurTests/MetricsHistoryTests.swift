import Foundation
import Recur
import Testing

/// A run folder's history: metrics.jsonl holds one run's steps once each, and a folder whose
/// checkpoint link was broken by hand says so instead of refusing both a new run and a resume.
@Suite struct MetricsHistoryTests {
    static let run = ReliabilityTests.run

    static func steps(_ out: String, file: String = "metrics.jsonl") throws -> [Int] {
        let text = try String(contentsOfFile: out + "/" + file, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["loss"] != nil else { return nil }
            return (o["step"] as? Double).map { Int($0) }
        }
    }

    @Test("A resumed run drops the lines logged after its checkpoint (a run killed before its next save), so no step appears twice")
    func resumeDropsLinesAfterCheckpoint() throws {
        let out = try ResumeTests.stopped("history")   // stopped at step 2 of 4
        // as a run killed after logging steps 3 and 4 but before saving them would leave it
        let killed = "{\"loss\":9,\"lr\":0.002,\"step\":3,\"tokensPerSecond\":1}\n{\"loss\":9,\"lr\":0.002,\"step\":4,\"tokensPerSecond\":1}\n"
        let handle = try #require(FileHandle(forWritingAtPath: out + "/metrics.jsonl"))
        handle.seekToEndOfFile(); handle.write(Data(killed.utf8)); handle.closeFile()
        let r = try RecurProcess.run(Self.run + ["--steps", "4", "--resume", out])
        #expect(r.status == 0, "\(r.stderr)")
        let steps = try Self.steps(out)
        #expect(steps == [1, 2, 3, 4], "\(steps)")
        #expect(!(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)).contains("\"loss\":9"))
    }

    @Test("A new run in a folder holding an earlier run's metrics.jsonl but no checkpoint starts its own; the earlier one is kept as metrics.jsonl.1")
    func newRunKeepsEarlierMetrics() throws {
        let out = Scratch.path("fresh-history")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let earlier = "{\"loss\":7,\"step\":1}\n"
        try earlier.write(toFile: out + "/metrics.jsonl", atomically: true, encoding: .utf8)
        let r = try RecurProcess.run(Self.run + ["--steps", "2", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: out + "/metrics.jsonl.1", encoding: .utf8) == earlier)
        #expect(try Self.steps(out) == [1, 2])
    }

    @Test("A checkpoint link whose folder was removed by hand: --out and --resume both name the missing target and the way out", arguments: ["--out", "--resume"])
    func danglingLinkNamed(_ flag: String) throws {
        let out = try ResumeTests.stopped("dangling-\(flag.dropFirst(2))")
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint")
        try FileManager.default.removeItem(atPath: out + "/" + target)
        let r = try RecurProcess.run(Self.run + ["--steps", "4", flag, out])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(flag) \(out): its checkpoint link points to \(target), which does not exist"), "\(r.stderr)")
    }

    @Test("A resume whose metrics.jsonl is a FIFO is refused at once, never waiting for a reader")
    func fifoMetricsRefused() throws {
        let out = try ResumeTests.stopped("fifo-history")
        try FileManager.default.removeItem(atPath: out + "/metrics.jsonl")
        mkfifo(out + "/metrics.jsonl", 0o644)
        let r = try RecurProcess.run(Self.run + ["--steps", "4", "--resume", out])
        #expect(r.status == 1 && r.stderr.contains("metrics.jsonl: is a FIFO, not a regular file"), "\(r.stderr)")
    }
}
