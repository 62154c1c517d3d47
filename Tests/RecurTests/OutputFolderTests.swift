import Foundation
@testable import Recur
import Testing

/// One writer per output folder; clean-up removes only what Recur wrote; stale temporaries of killed
/// saves go when a run takes the folder.
@Suite struct OutputFolderTests {
    static let run = ReliabilityTests.run

    static func bytes(_ dir: String) -> [String: Data] {
        var all: [String: Data] = [:]
        for f in (FileManager.default.subpaths(atPath: dir) ?? []) {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue {
                all[f] = FileManager.default.contents(atPath: dir + "/" + f)
            }
        }
        return all
    }

    static func stop(_ p: Process) -> String {
        kill(p.processIdentifier, SIGINT)
        let err = (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: err, as: UTF8.self)
    }

    @Test("A second writer (--out or --resume) is refused at once naming the folder and the holder's pid; the run's files stay its own")
    func secondWriterRefused() throws {
        let out = Scratch.path("locked")
        let a = try ReliabilityTests.start(Self.run + ["--steps", "100000", "--eval-every", "1", "--out", out])
        #expect(ReliabilityTests.waitFor(out + "/checkpoint", a))
        let lock = try String(contentsOfFile: out + "/.lock", encoding: .utf8)
        #expect(lock == "\(a.processIdentifier)\n")
        for args in [["--steps", "4", "--out", out], ["--steps", "4", "--resume", out]] {
            let started = Date()
            let b = try RecurProcess.run(Self.run + args)
            #expect(b.status == 1, "\(b.stderr)")
            let lines = b.stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") }
            #expect(lines.count == 1, "\(b.stderr)")
            #expect(b.stderr.contains("\(out): another training run (pid \(a.processIdentifier)) is writing to this folder"), "\(b.stderr)")
            #expect(Date().timeIntervalSince(started) < 20, "refused only after waiting")
        }
        let message = Self.stop(a)
        #expect(a.terminationStatus == 0, "\(message)")
        // Every line of metrics.jsonl is the first run's: its steps count up once, with no second run's step 1.
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        let rows = metrics.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let steps = rows.filter { $0["loss"] != nil }.compactMap { $0["step"] as? Int }
        #expect(steps == Array(1...steps.count), "\(steps)")
        // Released with the process: a resume now runs.
        let resumed = try RecurProcess.run(Self.run + ["--steps", "\(steps.count + 2)", "--resume", out])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test("The kernel releases the lock of a killed run: --resume takes the folder at once")
    func killedRunReleasesLock() throws {
        let out = Scratch.path("killed-lock")
        let a = try ReliabilityTests.start(Self.run + ["--steps", "100000", "--out", out])
        #expect(ReliabilityTests.waitFor(out + "/checkpoint", a))
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        let step = try #require(Int(try Checkpoint.load(out + "/checkpoint").trainerMetadata["recur.step"] ?? ""))
        let r = try RecurProcess.run(Self.run + ["--steps", "\(step + 1)", "--resume", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("resuming"), "\(r.stderr)")
    }

    @Test("In one process: a held folder refuses a second OutputFolder and a Trainer run, naming this pid; released when dropped")
    func inProcessLock() throws {
        let url = try Scratch.folder("inprocess")
        var held: OutputFolder? = try OutputFolder(url)
        #expect(held != nil)
        do {
            _ = try OutputFolder(url)
            Issue.record("a second hold succeeded")
        } catch let busy as OutputFolder.Busy {
            #expect(busy.holder == getpid())
            #expect(busy.description.contains(url.path))
        }
        let task = try MemoryTask(seed: 1, maxDistance: 3)
        var c = ModelConfig(family: .classifier)
        c.hidden = 8; c.embedding = 4; c.batch = 2
        try task.configure(&c)
        let trainer = try Trainer(model: try Model(c, device: TestDevices.cpu, seed: 1), task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 2))
        #expect(throws: OutputFolder.Busy.self) { _ = try trainer.run(out: url) }
        #expect(!FileManager.default.fileExists(atPath: url.appendingPathComponent("checkpoint").path))
        held = nil
        _ = try trainer.run(out: url)
        #expect(FileManager.default.fileExists(atPath: url.appendingPathComponent("checkpoint/model.safetensors").path))
    }

    @Test("Clean-up removes only Recur's recorded checkpoints: checkpoint-best/, checkpoint-notes.txt, checkpoint-7x/, an unrecorded checkpoint-4/ and a recorded folder holding a user's file stay")
    func foreignFilesKept() throws {
        let out = try Scratch.folder("foreign")
        let fm = FileManager.default
        for dir in ["checkpoint-best", "checkpoint-7x", "checkpoint-4"] {
            try fm.createDirectory(at: out.appendingPathComponent(dir), withIntermediateDirectories: true)
            try Data("user's \(dir)".utf8).write(to: out.appendingPathComponent(dir + "/model.safetensors"))
        }
        try Data("notes".utf8).write(to: out.appendingPathComponent("checkpoint-notes.txt"))
        try fm.createSymbolicLink(atPath: out.appendingPathComponent("checkpoint-9").path, withDestinationPath: "checkpoint-best")
        let foreign = Self.bytes(out.path)

        let first = try RecurProcess.run(Self.run + ["--steps", "6", "--stop-after", "4", "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        // Step 4's name was taken by the user's folder: Recur's is checkpoint-4.1; its checkpoint-2 is gone.
        #expect(try fm.destinationOfSymbolicLink(atPath: out.path + "/checkpoint") == "checkpoint-4.1")
        #expect(!fm.fileExists(atPath: out.path + "/checkpoint-2"))
        try Data("keep me".utf8).write(to: out.appendingPathComponent("checkpoint-4.1/notes.txt"))

        let resumed = try RecurProcess.run(Self.run + ["--steps", "6", "--resume", out.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try fm.destinationOfSymbolicLink(atPath: out.path + "/checkpoint") == "checkpoint-6")
        let now = Self.bytes(out.path)
        for (f, data) in foreign { #expect(now[f] == data, "\(f) changed or was removed") }
        #expect(fm.fileExists(atPath: out.path + "/checkpoint-4.1/notes.txt"), "a recorded folder holding a user's file was removed")
        #expect(try String(contentsOf: out.appendingPathComponent(OutputFolder.manifestName), encoding: .utf8) == "checkpoint-6\n")
        let entries = Set(try fm.contentsOfDirectory(atPath: out.path))
        #expect(entries == [".lock", ".recur-checkpoints", "checkpoint", "checkpoint-6", "checkpoint-4.1", "checkpoint-4", "checkpoint-9",
                            "checkpoint-best", "checkpoint-7x", "checkpoint-notes.txt", "metrics.jsonl", "loss.svg"], "\(entries.sorted())")
    }

    @Test("Taking a folder removes the temporaries of killed saves, and nothing else of similar name")
    func staleTemporariesRemoved() throws {
        let out = try Scratch.folder("stale")
        let fm = FileManager.default
        func dir(_ name: String, _ files: [String]) throws {
            try fm.createDirectory(at: out.appendingPathComponent(name), withIntermediateDirectories: true)
            for f in files { try Data("partial".utf8).write(to: out.appendingPathComponent(name + "/" + f)) }
        }
        try dir(".checkpoint-3.tmp-99999", ["model.safetensors"])
        try dir(".checkpoint-3.1.tmp-12", ["model.safetensors", "trainer.safetensors"])
        try dir(".checkpoint-5.tmp-7", [])
        try fm.createSymbolicLink(atPath: out.appendingPathComponent(".checkpoint.link-4242").path, withDestinationPath: "checkpoint-3")
        try Data("checkpoint-3\n".utf8).write(to: out.appendingPathComponent(".recur-checkpoints.tmp-31"))
        // Not Recur's: another name, another file inside, a pid that is not a number.
        try dir(".checkpoint-8.tmp-1", ["model.safetensors", "mine.txt"])
        try dir(".checkpoint-x.tmp-1", ["model.safetensors"])
        try dir(".checkpoint-2.tmp-abc", ["model.safetensors"])
        try Data("mine".utf8).write(to: out.appendingPathComponent(".checkpoint.link-mine"))
        let kept: Set<String> = [".checkpoint-8.tmp-1", ".checkpoint-x.tmp-1", ".checkpoint-2.tmp-abc", ".checkpoint.link-mine"]

        do {
            let folder = try OutputFolder(out)
            #expect(Set(try fm.contentsOfDirectory(atPath: out.path)) == kept.union([".lock"]))
            withExtendedLifetime(folder) {}
        }

        // The CLI takes the folder the same way: a run into it leaves the same foreign names and no temporaries.
        try dir(".checkpoint-3.tmp-99999", ["model.safetensors"])
        let r = try RecurProcess.run(Self.run + ["--steps", "2", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let hidden = Set(try fm.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") })
        #expect(hidden == kept.union([".lock", ".recur-checkpoints"]), "\(hidden.sorted())")
    }
}
