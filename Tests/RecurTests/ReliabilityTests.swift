import Foundation
import Recur
import Testing

/// Faults: signals, kills at any moment, divergence, and repeated creation of devices and buffers.
@Suite struct ReliabilityTests {
    static let run = ["train", "--task", "memory", "--max-distance", "6", "--hidden", "16", "--embedding", "8", "--batch", "8",
                      "--eval-every", "2", "--log-every", "1", "--device", "cpu"]

    static func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = RecurProcess.executable
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = Pipe()
        try p.run()
        return p
    }

    static func waitFor(_ path: String, _ process: Process) -> Bool {
        for _ in 0..<600 {
            if FileManager.default.fileExists(atPath: path) { return true }
            if !process.isRunning { return FileManager.default.fileExists(atPath: path) }
            usleep(20_000)
        }
        return false
    }

    /// Sends `sig`, waits up to 30 s for the exit (then kills), and returns the run's standard error.
    static func stop(_ p: Process, _ sig: Int32) -> String {
        kill(p.processIdentifier, sig)
        var waited = 0
        while p.isRunning && waited < 1500 { usleep(20_000); waited += 1 }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); Issue.record("the run ignored the signal for 30 s") }
        let err = (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: err, as: UTF8.self)
    }

    /// A save's temporaries in `dir` (the lock file and the manifest are the folder's own).
    static func temporaries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".") && ![".lock", ".recur-checkpoints"].contains($0) }
    }

    @Test("A reader never fails while a run saves a checkpoint every step: the link is resolved once and both files read from that folder")
    func readersSeeWholeCheckpoints() throws {
        let out = Scratch.path("readers"), text = Scratch.path("readers") + ".txt"
        try String(repeating: "abcdefghij", count: 20).write(toFile: text, atomically: true, encoding: .utf8)
        // A tiny model: a save every few milliseconds.
        let p = try Self.start(["train", "--task", "charlm", "--data", text, "--hidden", "4", "--embedding", "2", "--batch", "2", "--seq", "4",
                                "--log-every", "1000", "--device", "cpu", "--steps", "1000000", "--eval-every", "1", "--out", out])
        #expect(Self.waitFor(out + "/checkpoint", p))
        let device = Device.cpu(threads: 1)
        var steps = Set<Int>(), failures: [String] = [], reads = 0
        let started = Date()
        while (steps.count < 6 || reads < 200) && Date().timeIntervalSince(started) < 60 && p.isRunning {
            do {
                for path in [out, out + "/checkpoint"] {
                    let c = try Checkpoint.load(path)
                    steps.insert(try c.trainerState.step)
                    _ = try Model.load(path, device: device)
                    reads += 1
                }
            } catch { failures.append("\(error)") }
        }
        let evals = try (0..<5).map { _ in try RecurProcess.run(["eval", "--checkpoint", out, "--data", text, "--device", "cpu"]) }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(failures.isEmpty, "\(failures.count) of \(reads + failures.count) reads failed, e.g. \(failures.first ?? "")")
        #expect(steps.count >= 6, "the run saved only \(steps.count) checkpoints while being read")
        for e in evals { #expect(e.status == 0, "\(e.stderr)") }
    }

    @Test("SIGINT and SIGTERM: the current step finishes, a checkpoint is written, exit 0", arguments: [SIGINT, SIGTERM])
    func signalCheckpoints(_ sig: Int32) throws {
        let out = Scratch.path("signal")
        let p = try Self.start(Self.run + ["--steps", "100000", "--out", out])
        let appeared = Self.waitFor(out + "/checkpoint", p)
        #expect(appeared, "no checkpoint appeared")
        let message = Self.stop(p, sig)
        #expect(p.terminationStatus == 0, "\(message)")
        #expect(message.contains("stopped by signal at step"), "\(message)")
        let c = try Checkpoint.load(out + "/checkpoint")
        let step = Int(c.trainerMetadata["recur.step"] ?? "") ?? -1
        #expect(message.contains("stopped by signal at step \(step);"), "checkpoint step \(step) vs \(message)")
    }

    @Test("A signal before the first evaluation: the run saves and exits without evaluating, its summary says so")
    func signalBeforeEvaluation() throws {
        let out = Scratch.path("signal-early")
        let p = try Self.start(["train", "--task", "memory", "--max-distance", "6", "--hidden", "16", "--embedding", "8", "--batch", "8",
                                "--eval-every", "1000000", "--log-every", "1000000", "--device", "cpu", "--steps", "10000000", "--json", "--out", out])
        #expect(Self.waitFor(out + "/metrics.jsonl", p), "no step was logged")   // the first step is always logged
        let message = Self.stop(p, SIGTERM)
        #expect(p.terminationStatus == 0, "\(message)")
        #expect(message.contains("val loss - (not evaluated)"), "\(message)")
        let c = try Checkpoint.load(out + "/checkpoint")
        #expect((Int(c.trainerMetadata["recur.step"] ?? "") ?? 0) >= 1)
    }

    @Test("SIGKILL at a random moment: the last checkpoint is intact and --resume ends in the uninterrupted run's bytes")
    func killAndResume() throws {
        let straight = Scratch.path("straight"), killed = Scratch.path("killed")
        let a = try RecurProcess.run(Self.run + ["--steps", "30", "--out", straight])
        #expect(a.status == 0, "\(a.stderr)")
        let p = try Self.start(Self.run + ["--steps", "30", "--out", killed])
        let appeared = Self.waitFor(killed + "/checkpoint", p)
        #expect(appeared)
        usleep(UInt32.random(in: 0...400_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let c = try Checkpoint.load(killed + "/checkpoint")   // complete and checksummed whatever the moment
        #expect(Int(c.trainerMetadata["recur.step"] ?? "") != nil)
        let resumed = try RecurProcess.run(Self.run + ["--steps", "30", "--resume", killed])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        for f in ["model.safetensors", "trainer.safetensors"] {
            #expect(FileManager.default.contents(atPath: straight + "/checkpoint/" + f) == FileManager.default.contents(atPath: killed + "/checkpoint/" + f), "\(f)")
        }
    }

    @Test("Optimizer state that overflows while the loss stays finite (Adam's second moment under a huge weight decay) is never saved; the message says no checkpoint was saved before")
    func nonFiniteStateNotSaved() throws {
        let out = Scratch.path("inf-state")
        let r = try RecurProcess.run(["train", "--task", "adding", "--seq", "6", "--hidden", "4", "--batch", "2", "--steps", "4",
                                      "--eval-every", "2", "--weight-decay", "1e22", "--device", "cpu", "--out", out])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("is no longer finite at step 2; stopped without saving: no checkpoint was saved before"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
    }

    @Test("A diverging run stops naming the step and keeps the last good checkpoint")
    func divergenceStops() throws {
        let out = Scratch.path("nan")
        // Good steps 1-3, then the step schedule multiplies the rate by 1e30 and the parameters overflow.
        let r = try RecurProcess.run(["train", "--task", "adding", "--seq", "10", "--hidden", "8", "--batch", "4", "--steps", "30",
                                      "--eval-every", "1", "--log-every", "1", "--optimizer", "sgd", "--lr", "0.01",
                                      "--schedule", "step", "--step-size", "3", "--gamma", "1e30", "--device", "cpu", "--out", out])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("at step"), "\(r.stderr)")
        #expect(r.stderr.contains("last good checkpoint"), "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-3")
        do {
            let c = try Checkpoint.load(out + "/checkpoint")
            for (name, t) in c.model {
                let finite = t.floats.allSatisfy { $0.isFinite }
                #expect(finite, "\(name) in the kept checkpoint is not finite")
            }
        }
    }

    @Test("Disk full while saving (a file-size limit): the error says so and the previous checkpoint stays valid")
    func diskFullKeepsPreviousCheckpoint() throws {
        let out = Scratch.path("diskfull")
        let first = try RecurProcess.run(Self.run + ["--steps", "4", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try ["model.safetensors", "trainer.safetensors"].map { try Data(contentsOf: URL(fileURLWithPath: out + "/checkpoint/" + $0)) }
        // ulimit -f 4: no file may grow past 4 KiB, so writing model.safetensors fails like a full disk.
        let r = try RecurProcess.tool("/bin/bash", ["-c", "ulimit -f 4; exec \"$0\" \"$@\"", RecurProcess.executable.path]
                                      + Self.run + ["--steps", "8", "--resume", out])
        let message = r.output
        #expect(r.exited && r.status == 1, "killed instead of failing cleanly? \(r.status): \(message)")
        #expect(message.contains("could not save checkpoint"), "\(message)")
        #expect(message.contains("the previous checkpoint (checkpoint-4) is unchanged and valid"), "\(message)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-4")
        let after = try ["model.safetensors", "trainer.safetensors"].map { try Data(contentsOf: URL(fileURLWithPath: out + "/checkpoint/" + $0)) }
        #expect(after == before)
        _ = try Checkpoint.load(out + "/checkpoint")   // checksums verify
        let leftovers = Self.temporaries(out)
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        // With room again, the same resume completes.
        let again = try RecurProcess.run(Self.run + ["--steps", "8", "--resume", out])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-8")
    }

    @Test("OpenCL errors mid-run (out of resources, allocation failure, a lost device): the call, sizes and device memory are named; nothing partial is saved",
          arguments: [("clEnqueueNDRangeKernel", 4000, "CL_OUT_OF_RESOURCES", true), ("clCreateBuffer", 100, "CL_MEM_OBJECT_ALLOCATION_FAILURE", false),   // ~75 go to the admission self-test
                      ("clEnqueueReadBuffer", 300, "-9999", true), ("clEnqueueWriteBuffer", 200, "CL_DEVICE_NOT_AVAILABLE", true)])
    func openCLFaults(_ call: String, _ nth: Int, _ code: String, _ afterCheckpoint: Bool) throws {
        let out = Scratch.path("clfault")
        let args = Self.run.map { $0 == "cpu" ? "opencl:0" : $0 } + ["--steps", "1000", "--out", out]
        let r = try RecurProcess.run(args, environment: ["RECUR_CL_FAULT": "\(call):\(nth):\(code)"])
        #expect(r.status == 1, "\(r.stderr)")
        let line = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.contains("\(call) failed with \(code == "-9999" ? "CL_ERROR(-9999)" : code)"), "\(line)")
        #expect(line.contains("bytes") && line.contains("global memory") && line.contains("max allocation"), "\(line)")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(Self.temporaries(out).isEmpty, "partial files: \(entries)")
        if afterCheckpoint {
            #expect(line.contains("stopped without saving (the last checkpoint"), "\(line)")
            let c = try Checkpoint.load(out + "/checkpoint")
            #expect(Int(c.trainerMetadata["recur.step"] ?? "") ?? 0 >= 2)
        } else {
            #expect(!entries.contains { $0.hasPrefix("checkpoint") }, "\(entries)")
        }
    }

    static func residentBytes() -> Int {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
        return (Int(statm.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("Creating and destroying devices, programs and buffers many times does not grow memory")
    func noLeaks() throws {
        guard TestDevices.openCL() != nil else { return }
        func cycle() throws {
            let d = try Devices.openCL(0)
            for _ in 0..<20 {
                let b = try d.allocate(1 << 16)
                try d.fill(b.view, 1)
                try d.unary(.tanh, x: b.view, y: b.view)
            }
            try d.synchronize()
            let c = Device.cpu()
            for _ in 0..<20 { _ = try c.allocate(1 << 16) }
        }
        for _ in 0..<5 { try cycle() }
        let before = Self.residentBytes()
        for _ in 0..<40 { try cycle() }
        let grown = Self.residentBytes() - before
        #expect(grown < 24 << 20, "resident memory grew by \(grown >> 20) MiB over 40 device lifetimes")
    }
}
