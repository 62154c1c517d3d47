import Foundation
import Recur
import Testing

/// `--resume` with flags: those contradicting the checkpoint are refused, all listed; those that may
/// change are applied and printed; flags not given keep the checkpoint's values.
@Suite struct ResumeTests {
    static let run = ReliabilityTests.run

    /// A memory run stopped after step 2 of 4 (lstm, hidden 16, batch 8, seed 1, adam at 0.002, evaluation every 2 steps).
    static func stopped(_ name: String) throws -> String {
        let out = Scratch.path(name)
        let r = try RecurProcess.run(Self.run + ["--steps", "4", "--stop-after", "2", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    static func trainerMetadata(_ out: String) throws -> [String: String] {
        try Safetensors.decode(Data(contentsOf: URL(fileURLWithPath: out + "/checkpoint/trainer.safetensors"))).metadata
    }

    static func object(_ text: String?) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data((text ?? "").utf8)) as? [String: Any])
    }

    @Test("Flags contradicting the checkpoint are refused in one line listing each; nothing is written")
    func conflictsRefused() throws {
        let out = try Self.stopped("conflicts")
        let before = OutputFolderTests.bytes(out).filter { $0.key != ".lock" }
        let r = try RecurProcess.run(Self.run + ["--steps", "4", "--resume", out, "--cell", "gru", "--hidden", "32", "--batch", "4", "--seed", "9",
                                                 "--optimizer", "sgd", "--max-distance", "9", "--clip", "0", "--embedding-fold", "never"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") }
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--resume \(out): the checkpoint was trained with other settings: "), "\(r.stderr)")
        for conflict in ["--cell gru (checkpoint: lstm)", "--hidden 32 (checkpoint: 16)", "--batch 4 (checkpoint: 8)", "--seed 9 (checkpoint: 1)",
                         "--optimizer sgd (checkpoint: adam)", "--max-distance 9 (checkpoint: 6)", "--clip 0.0 (checkpoint: 5.0)",
                         "--embedding-fold never (checkpoint: auto)"] {
            #expect(r.stderr.contains(conflict), "\(conflict) not in \(r.stderr)")
        }
        #expect(!r.stderr.contains("--embedding 8"), "a flag equal to the checkpoint's value is no conflict: \(r.stderr)")
        var adding = (Self.run + ["--resume", out]).map { $0 == "memory" ? "adding" : $0 }
        for flag in ["--max-distance", "--embedding"] {   // a memory flag; adding reads no tokens
            if let i = adding.firstIndex(of: flag) { adding.removeSubrange(i...(i + 1)) }
        }
        let task = try RecurProcess.run(adding)
        #expect(task.status == 1 && task.stderr.contains("--task adding (checkpoint: memory)"), "\(task.stderr)")
        #expect(OutputFolderTests.bytes(out).filter { $0.key != ".lock" } == before)
    }

    @Test("Schedule, length and evaluation flags are applied and printed; the checkpoint keeps them")
    func changesApplied() throws {
        let out = try Self.stopped("changes")
        let r = try RecurProcess.run(Self.run + ["--resume", out, "--lr", "0.001", "--schedule", "cosine", "--steps", "6", "--eval-every", "3", "--patience", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("resuming \(out) at step 2; changed: --lr 0.001 (was 0.002), --schedule cosine (was constant), --steps 6 (was 4), --eval-every 3 (was 2), --patience 5 (was none)"), "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-6")
        let meta = try Self.trainerMetadata(out)
        let optimizer = try Self.object(meta["recur.optimizer"]), options = try Self.object(meta["recur.options"])
        #expect(optimizer["lr"] as? Double == 0.001 && optimizer["schedule"] as? String == "cosine" && optimizer["totalSteps"] as? Int == 6, "\(optimizer)")
        #expect(options["steps"] as? Int == 6 && options["evalEvery"] as? Int == 3 && options["patience"] as? Int == 5, "\(options)")
    }

    @Test("Without flags a resumed run keeps the checkpoint's settings: its length, evaluation period and learning rate")
    func settingsKept() throws {
        let out = try Self.stopped("kept")
        let r = try RecurProcess.run(["train", "--task", "memory", "--device", "cpu", "--resume", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("resuming \(out) at step 2\n"), "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-4")
        let meta = try Self.trainerMetadata(out)
        #expect(try Self.object(meta["recur.optimizer"])["lr"] as? Double == 0.002)
        #expect(try Self.object(meta["recur.options"])["evalEvery"] as? Int == 2)
    }

    @Test("--steps or --stop-after at or behind the checkpoint's step is refused naming both steps; nothing is written",
          arguments: [["--steps", "2"], ["--steps", "1"], ["--stop-after", "2"], ["--stop-after", "1"]])
    func behindCheckpointRefused(_ flag: [String]) throws {
        let out = try Self.stopped("behind")
        let before = OutputFolderTests.bytes(out).filter { $0.key != ".lock" }
        let r = try RecurProcess.run(Self.run + ["--resume", out] + flag)
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") }
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(flag[0]) \(flag[1]): the checkpoint is already at step 2"), "\(r.stderr)")
        #expect(OutputFolderTests.bytes(out).filter { $0.key != ".lock" } == before)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-2")
    }

    @Test("--resume with other data than the checkpoint's is refused; the same data resumes")
    func otherDataRefused() throws {
        let a = Scratch.path("data-a") + ".txt", b = Scratch.path("data-b") + ".txt"
        try String(repeating: "to be or not to be. ", count: 20).write(toFile: a, atomically: true, encoding: .utf8)
        try String(repeating: "be or not to be to. ", count: 20).write(toFile: b, atomically: true, encoding: .utf8)   // same characters
        let out = Scratch.path("data")
        let args = ["train", "--task", "charlm", "--hidden", "8", "--embedding", "4", "--batch", "2", "--seq", "8", "--eval-every", "2", "--device", "cpu"]
        let first = try RecurProcess.run(args + ["--data", a, "--steps", "4", "--stop-after", "2", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        let other = try RecurProcess.run(args + ["--data", b, "--resume", out])
        #expect(other.status == 1)
        #expect(other.stderr.contains("--resume \(out): the checkpoint was trained with other settings: --data \(b): not the data the checkpoint was trained on"), "\(other.stderr)")
        let same = try RecurProcess.run(args + ["--data", a, "--resume", out])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-4")
    }
}
