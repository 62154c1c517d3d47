import Foundation
import Recur
import Testing

/// Bad input: a one-line error naming the file or flag and the problem, a non-zero exit, no trap,
/// and nothing written or overwritten.
@Suite struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String, args: [String], expect: String
        /// Environment variables set for the run.
        var env: [String: String] = [:]
        /// Text the message must not hold (a flag the run did not pass).
        var absent: String? = nil
        var description: String { name }
    }

    static let dir: URL = {
        let d = Scratch.root.appendingPathComponent("bad")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        func put(_ name: String, _ data: Data) { _ = FileManager.default.createFile(atPath: d.appendingPathComponent(name).path, contents: data) }
        put("empty.txt", Data())
        put("invalid.txt", Data([0x68, 0x69, 0xff, 0xfe, 0x0a]))
        put("binary.txt", Data([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02]))
        put("short.txt", Data("tiny text\n".utf8))
        put("notab.tsv", Data("pos\tgood\nthis line has no tab\n".utf8))
        put("emptylabel.tsv", Data("pos\tgood\n\tno label\n".utf8))
        put("train.tsv", Data((0..<40).map { $0 % 2 == 0 ? "pos\tgood \($0)" : "neg\tbad \($0)" }.joined(separator: "\n").utf8))
        put("unseen.tsv", Data("pos\tgood\nmeh\tnever seen\n".utf8))
        put("series.csv", Data("t,value\n1,2\n2,3\n3,x\n".utf8))
        put("missing.csv", Data(("t,value\n" + (0..<300).map { $0 == 7 ? "\($0)," : "\($0),\($0 % 12)" }.joined(separator: "\n")).utf8))
        put("shortseries.csv", Data("t,value\n1,2\n2,3\n3,4\n".utf8))
        put("blanks.csv", Data("t,value\n1,2\n\n\n2,x\n".utf8))
        put("blankgaps.csv", Data(("t,value\n\n\n" + (0..<300).map { $0 == 7 ? "\($0)," : "\($0),\($0 % 12)" }.joined(separator: "\n")).utf8))
        put("wide.csv", Data(((0..<30).map { "c\($0)" }.joined(separator: ",") + "\n" + (0..<30).map(String.init).joined(separator: ",")).utf8))
        put("crlf.tsv", Data("pos\tgood\r\n\r\nthis line has no tab\r\n".utf8))
        put("afile", Data("x".utf8))
        put("notsafetensors", Data("hello world, not a checkpoint".utf8))
        try? FileManager.default.createDirectory(at: d.appendingPathComponent("folder"), withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(atPath: d.appendingPathComponent("dangling").path, withDestinationPath: d.appendingPathComponent("nowhere").path)
        mkfifo(d.appendingPathComponent("fifo").path, 0o644)
        // 50 GB that are not there (a sparse file): its header says 0, so nothing past it is read
        let sparse = d.appendingPathComponent("sparse.safetensors").path
        if FileManager.default.createFile(atPath: sparse, contents: nil) { _ = truncate(sparse, 50_000_000_000) }
        // a valid header whose tensor data lies past the file's end
        var header = Data("{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000],\"data_offsets\":[0,4000000000]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        put("shortdata.safetensors", withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) } + header + Data(count: 16))
        try? FileManager.default.createSymbolicLink(atPath: d.appendingPathComponent("null").path, withDestinationPath: "/dev/null")
        return d
    }()

    static func p(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let cases: [Case] = [
        Case(name: "missing file", args: ["train", "--task", "charlm", "--data", p("nope.txt"), "--steps", "1"], expect: "nope.txt: no such file"),
        Case(name: "folder instead of file", args: ["train", "--task", "charlm", "--data", p("folder"), "--steps", "1"], expect: "is a folder"),
        Case(name: "data from /dev/null", args: ["train", "--task", "charlm", "--data", "/dev/null", "--steps", "1"],
             expect: "--data /dev/null: is a character device, not a regular file"),
        Case(name: "data from /dev/zero", args: ["train", "--task", "charlm", "--data", "/dev/zero", "--steps", "1"],
             expect: "--data /dev/zero: is a character device, not a regular file"),
        Case(name: "data from a FIFO (never opened, so nothing waits for a writer)", args: ["train", "--task", "charlm", "--data", p("fifo"), "--steps", "1"],
             expect: "--data \(p("fifo")): is a FIFO, not a regular file"),
        Case(name: "test data through a link to a device", args: ["train", "--task", "classify", "--data", p("train.tsv"), "--test", p("null"), "--steps", "1"],
             expect: "--test \(p("null")): is a character device, not a regular file"),
        Case(name: "missing file with a newline in its name", args: ["train", "--task", "charlm", "--data", p("x\ny"), "--steps", "1"],
             expect: "--data \"\(p("x"))\\ny\": no such file"),
        Case(name: "empty file", args: ["train", "--task", "charlm", "--data", p("empty.txt"), "--steps", "1"], expect: "empty"),
        Case(name: "invalid UTF-8", args: ["train", "--task", "charlm", "--data", p("invalid.txt"), "--steps", "1"], expect: "not valid UTF-8"),
        Case(name: "binary garbage", args: ["train", "--task", "charlm", "--data", p("binary.txt"), "--steps", "1"], expect: "binary"),
        Case(name: "text shorter than one batch", args: ["train", "--task", "charlm", "--data", p("short.txt"), "--steps", "1"], expect: "shorter than one batch"),
        Case(name: "TSV line without a tab", args: ["train", "--task", "classify", "--data", p("notab.tsv"), "--steps", "1"], expect: "notab.tsv:2: no tab"),
        Case(name: "TSV empty label", args: ["train", "--task", "classify", "--data", p("emptylabel.tsv"), "--steps", "1"], expect: "emptylabel.tsv:2: empty label"),
        Case(name: "label never seen in training", args: ["train", "--task", "classify", "--data", p("train.tsv"), "--test", p("unseen.tsv"), "--steps", "1"], expect: "'meh' that training never saw"),
        Case(name: "CSV without the column", args: ["train", "--task", "forecast", "--data", p("series.csv"), "--column", "sales", "--steps", "1"], expect: "no column 'sales'"),
        Case(name: "non-numeric value", args: ["train", "--task", "forecast", "--data", p("series.csv"), "--column", "value", "--steps", "1"], expect: "series.csv:4: 'x'"),
        Case(name: "non-numeric value after blank lines: the file's line", args: ["train", "--task", "forecast", "--data", p("blanks.csv"), "--column", "value", "--steps", "1"],
             expect: "blanks.csv:5: 'x' in column 'value' is not a number"),
        Case(name: "missing values after blank lines: the file's line", args: ["train", "--task", "forecast", "--data", p("blankgaps.csv"), "--column", "value", "--steps", "1"],
             expect: "1 missing values in column 'value' (first on line 11)"),
        Case(name: "CSV header of many columns: the list is cut", args: ["train", "--task", "forecast", "--data", p("wide.csv"), "--column", "sales", "--steps", "1"],
             expect: "no column 'sales' (columns: " + (0..<20).map { "'c\($0)'" }.joined(separator: ", ") + ", …)"),
        Case(name: "CRLF TSV line without a tab", args: ["train", "--task", "classify", "--data", p("crlf.tsv"), "--steps", "1"], expect: "crlf.tsv:3: no tab"),
        Case(name: "missing values without --fill", args: ["train", "--task", "forecast", "--data", p("missing.csv"), "--column", "value", "--steps", "1"], expect: "missing values"),
        Case(name: "series shorter than the window", args: ["train", "--task", "forecast", "--data", p("shortseries.csv"), "--column", "value", "--steps", "1"], expect: "too short"),
        Case(name: "zero batch", args: ["train", "--task", "memory", "--batch", "0", "--steps", "1"], expect: "--batch must be positive"),
        Case(name: "negative hidden", args: ["train", "--task", "memory", "--hidden=-3", "--steps", "1"], expect: "--hidden must be positive"),
        Case(name: "zero steps", args: ["train", "--task", "memory", "--steps", "0"], expect: "--steps must be positive"),
        Case(name: "learning rate not finite", args: ["train", "--task", "memory", "--lr", "nan", "--steps", "1"], expect: "--lr must be a positive finite number"),
        Case(name: "sequence longer than the data", args: ["train", "--task", "charlm", "--data", p("train.tsv"), "--seq", "5000", "--steps", "1"], expect: "shorter than one batch"),
        Case(name: "unknown device", args: ["train", "--task", "memory", "--steps", "1", "--device", "gpu9"], expect: "unknown device 'gpu9'"),
        Case(name: "unknown task", args: ["train", "--task", "poetry", "--steps", "1"], expect: "unknown task 'poetry'"),
        Case(name: "unknown cell", args: ["train", "--task", "memory", "--cell", "transformer", "--steps", "1"], expect: "--cell must be"),
        Case(name: "output folder is a file", args: ["train", "--task", "memory", "--steps", "1", "--out", p("afile")], expect: "is a file"),
        Case(name: "checkpoint that is not safetensors", args: ["eval", "--checkpoint", p("notsafetensors")], expect: "header length"),
        Case(name: "checkpoint missing", args: ["eval", "--checkpoint", p("nothing-here")], expect: "no such file"),
        Case(name: "checkpoint that is a character device (never read to its endless end)", args: ["eval", "--checkpoint", "/dev/zero"],
             expect: "/dev/zero: is a character device, not a safetensors file"),
        Case(name: "checkpoint that is a FIFO (never waited on)", args: ["generate", "--checkpoint", p("fifo")],
             expect: "\(p("fifo")): is a FIFO, not a safetensors file"),
        Case(name: "checkpoint of 50 GB of zeros (refused from its header, not read)", args: ["eval", "--checkpoint", p("sparse.safetensors")],
             expect: "header is not a JSON object"),
        Case(name: "checkpoint whose tensor data lies past its end", args: ["eval", "--checkpoint", p("shortdata.safetensors")],
             expect: "tensor data ends 4000000000 bytes after the header, past the file's end (16 data bytes): truncated"),
        Case(name: "generate with a bad temperature", args: ["generate", "--checkpoint", p("notsafetensors"), "--temperature", "0"], expect: "--temperature must be a positive"),
        // sizes whose arithmetic would overflow a 64-bit integer
        Case(name: "batch of 2^63 - 1", args: ["train", "--task", "memory", "--batch", "9223372036854775807", "--steps", "1"],
             expect: "the recurrent activations (batch × sequence × 4 × hidden × layers) would hold"),
        Case(name: "sequence of 2^63 - 1", args: ["train", "--task", "adding", "--seq", "9223372036854775807", "--steps", "1"], expect: "the model is too large"),
        Case(name: "distance of 2^63 - 1", args: ["train", "--task", "memory", "--max-distance", "9223372036854775807", "--steps", "1"],
             expect: "--max-distance must be in 1...2147483637, got 9223372036854775807"),
        Case(name: "steps × batch × sequence past 2^63", args: ["train", "--task", "memory", "--steps", "9223372036854775807"],
             expect: "--steps 9223372036854775807 × batch 32 × sequence length 50 is more than 2^63 - 1 positions", absent: "--seq"),
        Case(name: "epochs past 2^63 steps", args: ["train", "--task", "classify", "--data", p("train.tsv"), "--epochs", "9223372036854775807"],
             expect: "--epochs 9223372036854775807 × 2 batches per epoch is more than 2^63 - 1 steps"),
        Case(name: "text batch of 2^63 - 1", args: ["train", "--task", "charlm", "--data", p("train.tsv"), "--batch", "9223372036854775807", "--steps", "1"],
             expect: "shorter than one batch (9223372036854775807 × (64 + 1))"),
        Case(name: "text sequence of 2^63 - 1", args: ["train", "--task", "charlm", "--data", p("train.tsv"), "--seq", "9223372036854775807", "--steps", "1"],
             expect: "shorter than one batch (32 × (9223372036854775807 + 1))"),
        Case(name: "bench shape past 2^63", args: ["bench", "--shape", "99999999999x99999999999x2"],
             expect: "--shape '99999999999x99999999999x2': A would hold 1 × 99999999999 × 2 elements, more than one buffer"),
        Case(name: "bench product past one buffer", args: ["bench", "--shape", "46341x46341x1"], expect: "C would hold 1 × 46341 × 46341 elements"),
        Case(name: "bench train batch past one buffer", args: ["bench", "--suite", "train", "--workload", "lstm-small", "--batch", "99999999999"],
             expect: "--seq/--batch: lstm-small: the model is too large"),
        Case(name: "demo steps past 2^63 positions", args: ["demo", "--steps", "9223372036854775807"], expect: "is more than 2^63 - 1 positions"),
        Case(name: "generate length past the sampler's positions", args: ["generate", "--checkpoint", p("notsafetensors"), "--length", "4294967297"],
             expect: "--length must be in 0...4294967296, got 4294967297"),
        Case(name: "verify cases beyond the bound", args: ["verify", "--cases", "9223372036854775807"], expect: "--cases must be in 0...100000"),
    ]

    /// Every file under `folder` (recursively) and its bytes.
    static func snapshot(_ folder: URL = dir) throws -> [String: Data] {
        var s: [String: Data] = [:]
        for f in try FileManager.default.subpathsOfDirectory(atPath: folder.path) {
            let path = folder.appendingPathComponent(f).path
            var st = stat()
            lstat(path, &st)
            // a link by its target and a FIFO or device by its type: reading a FIFO would block
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) { s[f] = Data("link to \(target)".utf8) }
            else if st.st_mode & S_IFMT == S_IFDIR { s[f] = Data("folder".utf8) }
            else if st.st_mode & S_IFMT != S_IFREG { s[f] = Data("mode \(st.st_mode)".utf8) }
            else { s[f] = FileManager.default.contents(atPath: path) ?? Data() }
        }
        return s
    }

    @Test(arguments: cases)
    func rejected(_ c: Case) throws { try Self.expectRejected(c) }

    /// Runs the case (on the CPU device unless it names a device): exit 1 or 64, one line on stderr
    /// holding `expect` (and not `absent`), no trap, no file of `folder` changed.
    static func expectRejected(_ c: Case, in folder: URL = dir, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try snapshot(folder)
        let device = c.args.contains("--device") || c.env[Devices.environmentVariable] != nil || ["devices", "tune"].contains(c.args.first)
        let r = try RecurProcess.run(c.args + (device ? [] : ["--device", "cpu"]), environment: c.env)
        #expect(r.status == 1 || r.status == 64, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") }
        #expect(lines.count == 1, "expected one line, got: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(c.expect), "\(r.stderr)", sourceLocation: sourceLocation)
        if let absent = c.absent { #expect(!r.stderr.contains(absent), "names \(absent): \(r.stderr)", sourceLocation: sourceLocation) }
        #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
        #expect(try snapshot(folder) == before, "files changed", sourceLocation: sourceLocation)
    }

    @Test("The largest --steps that fits (with --stop-after) runs: progress shows the count and an ETA too long for a clock as -")
    func largestStepsRun() throws {
        // memory, --max-distance 3: sequence 13, batch 4; steps × 4 × 13 must stay below 2^63
        let steps = Int.max / (4 * 13)
        let r = try RecurProcess.run(["train", "--task", "memory", "--max-distance", "3", "--hidden", "8", "--embedding", "8", "--batch", "4",
                                      "--steps", String(steps), "--stop-after", "2", "--log-every", "1", "--device", "cpu"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("step 2/\(steps) ") && r.stdout.contains("ETA -"), "\(r.stdout)")
        let over = try RecurProcess.run(["train", "--task", "memory", "--max-distance", "3", "--batch", "4", "--steps", String(steps + 1), "--device", "cpu"])
        #expect(over.status == 1 && over.stderr.contains("--steps \(steps + 1) × batch 4 × sequence length 13 is more than 2^63 - 1 positions"), "\(over.stderr)")
    }

    @Test("An output folder holding a checkpoint is not overwritten without --resume")
    func existingCheckpointKept() throws {
        let out = Scratch.path("run")
        let first = try RecurProcess.run(["train", "--task", "memory", "--max-distance", "3", "--hidden", "8", "--batch", "4", "--steps", "2",
                                          "--eval-every", "2", "--device", "cpu", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        let model = out + "/checkpoint/model.safetensors"
        let before = FileManager.default.contents(atPath: model)
        let again = try RecurProcess.run(["train", "--task", "memory", "--steps", "2", "--device", "cpu", "--out", out])
        #expect(again.status != 0 && again.stderr.contains("already holds a checkpoint"))
        #expect(FileManager.default.contents(atPath: model) == before)
    }
}

@Suite struct SafetensorsTests {
    static let good = Safetensors.encode([("a", .init([1, 2, 3], shape: [3])), ("b", .init([4, 5], shape: [1, 2]))], metadata: ["k": "v"])

    @Test func roundTrip() throws {
        let (t, m) = try Safetensors.decode(Self.good)
        #expect(m == ["k": "v"])
        #expect(t["a"]?.floats == [1, 2, 3] && t["b"]?.shape == [1, 2])
        #expect(Safetensors.encode([("a", .init([1, 2, 3], shape: [3])), ("b", .init([4, 5], shape: [1, 2]))], metadata: ["k": "v"]) == Self.good)
    }

    static func header(_ json: String, data: Int) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(json.utf8))
        d.append(Data(count: data))
        return d
    }

    @Test("Malformed files are rejected with a reason", arguments: [
        ("truncated header", Data([1, 2, 3]), "not a safetensors"),
        ("header longer than the file", header("{}", data: 0).prefix(9), "header length"),
        ("header not JSON", header("{nope", data: 0), "not a JSON"),
        ("offsets out of range", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: 4), "outside"),
        ("overlapping tensors", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data: 12), "overlap"),
        ("wrong dtype", header("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", data: 4), "not supported"),
        ("shape and bytes disagree", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: 8), "needs 12 bytes"),
    ] as [(String, Data, String)])
    func malformed(_ name: String, _ data: Data, _ reason: String) {
        #expect {
            _ = try Safetensors.decode(data)
        } throws: { "\($0)".contains(reason) }
    }

    @Test("Every truncation of a valid file is rejected, never a crash")
    func truncatedAnywhere() {
        for n in 0..<Self.good.count {
            #expect(throws: (any Error).self) { _ = try Safetensors.decode(Self.good.prefix(n)) }
        }
    }

    @Test("The fuzz corpus (checkpoint, safetensors, config, text, TSV, CSV, checkpoint metadata and tuning table seeds) replays through every parser without a crash")
    func fuzzCorpusReplays() throws {
        let replayer = RecurProcess.executable.deletingLastPathComponent().appendingPathComponent("recur-fuzz")
        let r = try RecurProcess.tool(replayer.path, [Repo.root.appendingPathComponent("Tests/Fuzz/corpus").path])
        #expect(r.exited && r.status == 0, "\(r.output)")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: Repo.root.appendingPathComponent("Tests/Fuzz/corpus").path).count
        #expect(seeds == 8)
        #expect(r.output.contains("replayed \(seeds) inputs without a crash"), "\(r.output)")
    }
}
