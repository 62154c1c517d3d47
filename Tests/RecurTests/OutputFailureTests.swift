import Foundation
import Recur
import Testing

/// Output that cannot be written: standard output closed, a pipe whose reader is gone, a full disk
/// (/dev/full), metrics.jsonl or loss.svg unwritable. Each ends `recur` with exit status 1 and one
/// line on stderr, never a trap or a death by signal, and leaves a loadable checkpoint.
@Suite struct OutputFailureTests {
    enum Stdout: String, CaseIterable, Sendable { case closed, pipeWithoutReader, full }

    /// A small character model's run folder, trained once per test process.
    static let charModel: String = {
        let dir = Scratch.root.appendingPathComponent("output-lm")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let text = dir.appendingPathComponent("text.txt")
        let words = ["the", "cat", "sat", "on", "a", "mat"]
        try? (0..<2000).map { words[$0 * 7 % words.count] }.joined(separator: " ").write(to: text, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run").path
        _ = try? RecurProcess.run(["train", "--task", "charlm", "--data", text.path, "--hidden", "8", "--embedding", "4", "--batch", "4",
                                   "--seq", "8", "--steps", "2", "--eval-every", "2", "--device", "cpu", "--out", out])
        return out
    }()

    static let trainRun = ["train", "--task", "memory", "--max-distance", "3", "--hidden", "8", "--embedding", "8", "--batch", "4",
                           "--steps", "6", "--eval-every", "2", "--log-every", "1", "--device", "cpu"]

    /// Runs `recur args` with standard output broken as `how`; stderr is read in full.
    static func run(_ args: [String], stdout how: Stdout) throws -> (exited: Bool, status: Int32, stderr: String) {
        let p = Process()
        let err = Pipe()
        p.standardError = err
        var parentEnd: FileHandle? = nil
        switch how {
        case .closed:
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "exec \"$0\" \"$@\" >&-", RecurProcess.executable.path] + args
        case .pipeWithoutReader:
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            close(fds[0])   // no reader from the start: every write gets EPIPE
            parentEnd = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
            p.executableURL = RecurProcess.executable
            p.arguments = args
            p.standardOutput = parentEnd
        case .full:
            p.executableURL = RecurProcess.executable
            p.arguments = args
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: Devices.environmentVariable)
        p.environment = env
        try p.run()
        try parentEnd?.close()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationReason == .exit, p.terminationStatus, text)
    }

    /// stderr without the device and resume notes.
    static func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") && !$0.hasPrefix("recur: resuming") }
    }

    static func expectOneLineFailure(_ r: (exited: Bool, status: Int32, stderr: String), _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.exited, "ended by a signal: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error"), "\(r.stderr)", sourceLocation: sourceLocation)
        let lines = errorLines(r.stderr)
        #expect(lines.count == 1, "expected one line: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.contains(fragment) == true, "\(r.stderr)", sourceLocation: sourceLocation)
    }

    static func fragment(_ how: Stdout) -> String {
        switch how {
        case .closed: "cannot write to standard output: it is closed"
        case .pipeWithoutReader: "cannot write to standard output: Broken pipe"
        case .full: "cannot write to standard output: No space left on device"
        }
    }

    @Test("eval, generate and devices whose standard output cannot be written exit 1 with one line", arguments: Stdout.allCases)
    func readOnlyCommands(_ how: Stdout) throws {
        for args in [["eval", "--checkpoint", Self.charModel, "--data", Self.charModel + "/../text.txt", "--device", "cpu"],
                     ["generate", "--checkpoint", Self.charModel, "--length", "20", "--device", "cpu"],
                     ["devices"], ["devices", "--json"], ["--help"]] {
            Self.expectOneLineFailure(try Self.run(args, stdout: how), Self.fragment(how))
        }
    }

    @Test("With standard error closed too, a failure is still exit status 1, not a trap")
    func stderrClosed() throws {
        let r = try RecurProcess.tool("/bin/bash", ["-c", "\"$0\" \"$@\" >&- 2>&-; echo \"status $?\"", RecurProcess.executable.path,
                                                    "eval", "--checkpoint", Self.charModel, "--data", Self.charModel + "/../text.txt", "--device", "cpu"])
        #expect(r.exited && r.output == "status 1\n", "\(r.output)")
        let bad = try RecurProcess.tool("/bin/bash", ["-c", "\"$0\" \"$@\" 2>&-; echo \"status $?\"", RecurProcess.executable.path, "train", "--task", "memory", "--steps", "0"])
        #expect(bad.exited && bad.output == "status 64\n", "\(bad.output)")
    }

    @Test("train whose standard output cannot be written stops after the step in progress with a checkpoint and exits 1", arguments: Stdout.allCases)
    func trainStops(_ how: Stdout) throws {
        let out = Scratch.path("stdout-train")
        let r = try Self.run(Self.trainRun + ["--out", out], stdout: how)
        Self.expectOneLineFailure(r, Self.fragment(how))
        #expect(r.stderr.contains("stopped after step 1 with a checkpoint in \(out)/checkpoint"), "\(r.stderr)")
        let c = try Checkpoint.load(out + "/checkpoint")
        #expect(c.trainerMetadata["recur.step"] == "1")
        // a resumed run that cannot write either keeps the checkpoint it started from loadable
        let again = try Self.run(Self.trainRun + ["--resume", out], stdout: how)
        Self.expectOneLineFailure(again, Self.fragment(how))
        #expect(try Checkpoint.load(out + "/checkpoint").trainerMetadata["recur.step"] == "2")
    }

    @Test("metrics.jsonl on a full disk: exit 1 naming the file, the run stops with a checkpoint")
    func metricsOnFullDisk() throws {
        let out = try Scratch.folder("metrics-full")
        let first = try RecurProcess.run(Self.trainRun + ["--stop-after", "1", "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        let metrics = out.appendingPathComponent("metrics.jsonl").path
        try FileManager.default.removeItem(atPath: metrics)
        try FileManager.default.createSymbolicLink(atPath: metrics, withDestinationPath: "/dev/full")
        let r = try RecurProcess.run(Self.trainRun + ["--resume", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = Self.errorLines(r.stderr)
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(metrics): cannot append (No space left on device); stopped after step 2 with a checkpoint"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
        #expect(try Checkpoint.load(out.path + "/checkpoint").trainerMetadata["recur.step"] == "2")
    }

    @Test("metrics.jsonl reaching a file-size limit: exit 1 naming the file, and the partial line is cut off again")
    func metricsPastSizeLimit() throws {
        let out = try Scratch.folder("metrics-limit")
        let first = try RecurProcess.run(Self.trainRun + ["--stop-after", "2", "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        let metrics = out.appendingPathComponent("metrics.jsonl")
        var before = try Data(contentsOf: metrics)   // its steps, then blank lines (skipped when read) to 10 bytes below `ulimit -f 8`
        before += Data(repeating: 0x0a, count: 8 * 1024 - 10 - before.count)
        try before.write(to: metrics)
        let r = try RecurProcess.tool("/bin/bash", ["-c", "ulimit -f 8; exec \"$0\" \"$@\" 2>&1 >/dev/null", RecurProcess.executable.path]
                                      + Self.trainRun + ["--resume", out.path])
        #expect(r.exited && r.status == 1, "\(r.status): \(r.output)")
        #expect(r.output.contains("\(metrics.path): cannot append (File too large)"), "\(r.output)")
        #expect(!r.output.contains("Fatal error"))
        #expect(try Data(contentsOf: metrics) == before)
    }

    @Test("loss.svg that cannot be written: exit 1 naming it; the finished run's checkpoint is complete")
    func lossCurveUnwritable() throws {
        let out = try Scratch.folder("svg")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("loss.svg"), withIntermediateDirectories: false)
        let r = try RecurProcess.run(Self.trainRun + ["--out", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(Self.errorLines(r.stderr).count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(out.path)/loss.svg: cannot write the loss curve"), "\(r.stderr)")
        #expect(try Checkpoint.load(out.path + "/checkpoint").trainerMetadata["recur.step"] == "6")
    }

    @Test("generate streams: the printed text is the library's, and a pipe closed early stops the sampling")
    func generateStreams() throws {
        let r = try RecurProcess.run(["generate", "--checkpoint", Self.charModel, "--prompt", "the ", "--length", "30", "--seed", "3", "--device", "cpu"])
        #expect(r.status == 0, "\(r.stderr)")
        let (model, known) = try Model.load(Self.charModel + "/checkpoint", device: Device.cpu(), batch: 1, sequence: 4)
        let text = try model.generate(vocabulary: try #require(known.vocab), prompt: "the ", length: 30, seed: 3)
        #expect(r.stdout == text + "\n")
        // 10 million characters would take minutes; without a reader the first one ends the run
        let started = Date()
        let closed = try Self.run(["generate", "--checkpoint", Self.charModel, "--length", "10000000", "--device", "cpu"], stdout: .pipeWithoutReader)
        Self.expectOneLineFailure(closed, Self.fragment(.pipeWithoutReader))
        #expect(Date().timeIntervalSince(started) < 60)
    }
}

/// Files written at a path the user names (`bench --json`/`--plot`, `tune --json`, loss.svg, the
/// demo's chart): written through a link, atomically; a FIFO, device or folder is refused, never
/// replaced; a failed write names the flag, the path and the system's reason.
@Suite struct UserFileTests {
    static let bench = ["bench", "--shape", "8x8x8", "--repeats", "1", "--device", "cpu"]

    @Test("bench --json through a symbolic link writes the link's target; the link stays a link")
    func linkWrittenThrough() throws {
        let dir = try Scratch.folder("through-link")
        let target = dir.appendingPathComponent("rows.json"), link = dir.appendingPathComponent("latest.json")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "rows.json")
        let r = try RecurProcess.run(Self.bench + ["--json", link.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "rows.json")
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: target)) as? [[String: Any]]
        #expect(rows?.first?["op"] as? String == "matmul", "\(String(describing: rows))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["latest.json", "rows.json"])
    }

    @Test("SVGChart.write through a link, and onto a FIFO or a character device refused at once with nothing replaced")
    func libraryWrite() throws {
        let dir = try Scratch.folder("user-file")
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", series: [.init("a", [(0, 1), (1, 2)], color: "#000000")])
        let target = dir.appendingPathComponent("chart.svg"), link = dir.appendingPathComponent("link.svg")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target.path)
        try chart.write(to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try String(contentsOf: target, encoding: .utf8) == chart.render())

        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect { try chart.write(to: URL(fileURLWithPath: fifo)) } throws: { "\($0)" == "is a FIFO, not a regular file" }
        var s = stat()
        #expect(lstat(fifo, &s) == 0 && s.st_mode & S_IFMT == S_IFIFO)
        #expect { try UserFile.write("x", to: "/dev/null") } throws: { "\($0)" == "is a character device, not a regular file" }
        #expect(stat("/dev/null", &s) == 0 && s.st_mode & S_IFMT == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["chart.svg", "fifo", "link.svg"])
    }

    @Test("bench --json past a file-size limit: exit 1 with the system's reason (File too large); no file or temporary is left")
    func fileTooLarge() throws {
        let dir = try Scratch.folder("json-limit")
        let json = dir.appendingPathComponent("rows.json").path
        let r = try RecurProcess.tool("/bin/sh", ["-c", "ulimit -f 0; exec \"$0\" \"$@\" 2>&1 >/dev/null", RecurProcess.executable.path]
                                      + Self.bench + ["--json", json])
        #expect(r.exited && r.status == 1, "\(r.status): \(r.output)")
        #expect(r.output.contains("recur: error: --json \(json): cannot write (File too large)"), "\(r.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("Foundation errors are described in the system's words")
    func foundationReasons() throws {
        #expect { try FileManager.default.createDirectory(atPath: "/proc/recur-none/x", withIntermediateDirectories: true) } throws: {
            systemReason($0) == "No such file or directory"
        }
        #expect { try Data(contentsOf: URL(fileURLWithPath: Scratch.path("missing"))) } throws: { systemReason($0) == "No such file or directory" }
        #expect(systemReason(POSIXError(.EFBIG)) == "File too large")
    }

    @Test("demo checks and creates its output folder before any training")
    func demoFolderFirst() throws {
        let r = try RecurProcess.run(["demo", "--out", "/proc/recur-none", "--steps", "1", "--device", "cpu"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr == "recur: error: --out /proc/recur-none: cannot create the folder (No such file or directory)\n", "\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
    }
}
