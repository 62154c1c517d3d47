import Foundation
@testable import Recur
import Testing

/// Checkpoint metadata: covered by a checksum in both files, every field validated on load, each
/// error one line naming the file and the key; nothing traps on a malformed field.
@Suite struct CheckpointValidationTests {
    static let text: String = {
        let path = Scratch.path("validation") + ".txt"
        try? String(repeating: "a quick brown fox. ", count: 30).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static let tsv: String = {
        let path = Scratch.path("validation") + ".tsv"
        try? (0..<30).map { ["pos\tgood \($0)", "neg\tbad \($0)", "mid\tso so \($0)"][$0 % 3] }.joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// A checkpoint folder of a 2-step run on `task` (charlm or classify), made once.
    static func trained(_ task: String) throws -> URL {
        var spec = TaskSpec(task: task)
        spec.data = task == "charlm" ? text : tsv
        let t = try spec.make(seed: 2)
        var c = ModelConfig(family: spec.family())
        c.hidden = 6; c.embedding = 4; c.batch = 2; c.sequence = 6
        try t.configure(&c)
        var o = TrainOptions(steps: 2)
        o.evalEvery = 2
        let out = try Scratch.folder("trained-\(task)")
        _ = try Trainer(model: try Model(c, device: Device.cpu(threads: 1), seed: 2), task: t, optimizer: OptimizerConfig(), options: o).run(out: out)
        return out.appendingPathComponent("checkpoint-2")
    }

    static let charlm = Result { try trained("charlm") }
    static let classify = Result { try trained("classify") }

    /// A fresh copy of a trained checkpoint folder.
    static func copy(_ source: Result<URL, any Error>) throws -> URL {
        let dir = URL(fileURLWithPath: Scratch.path("edited"))
        try FileManager.default.copyItem(at: try source.get(), to: dir)
        return dir
    }

    /// Rewrites one file of the folder; `resign` recomputes its metadata checksum (a consistent writer
    /// that wrote a bad value), otherwise the edit is one made after Recur wrote the file.
    static func rewrite(_ file: URL, resign: Bool, _ edit: (inout [String: Safetensors.Tensor], inout [String: String]) throws -> Void) throws {
        var (t, m) = try Safetensors.decode(Data(contentsOf: file))
        try edit(&t, &m)
        if resign { m["recur.metadata_checksum"] = Checkpoint.metadataChecksum(m) }
        try Safetensors.encode(t.keys.sorted().map { ($0, t[$0]!) }, metadata: m).write(to: file)
    }

    /// Edits the JSON object stored under `key`.
    static func json(_ m: inout [String: String], _ key: String, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(m[key]!.utf8)) as? [String: Any])
        edit(&object)
        m[key] = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String, classify: Bool, trainerFile: Bool, resign: Bool, expect: String
        let edit: @Sendable (inout [String: Safetensors.Tensor], inout [String: String]) throws -> Void
        var description: String { name }
        init(_ name: String, classify: Bool = false, trainer: Bool = false, resign: Bool = true, _ expect: String,
             _ edit: @escaping @Sendable (inout [String: Safetensors.Tensor], inout [String: String]) throws -> Void) {
            self.name = name; self.classify = classify; trainerFile = trainer; self.resign = resign; self.expect = expect; self.edit = edit
        }
    }

    static let cases: [Case] = [
        Case("model metadata edited", resign: false, "its metadata was edited after Recur wrote it (recur.metadata_checksum does not match)") { _, m in m["recur.seed"] = "7" },
        Case("trainer metadata edited", trainer: true, resign: false, "its metadata was edited after Recur wrote it") { _, m in m["recur.step"] = "0" },
        Case("a tensor changed", resign: false, "its tensors changed after Recur wrote it (recur.checksum does not match)") { t, _ in
            let name = t.keys.sorted()[0]
            t[name]!.bits[0] ^= 1
        },
        Case("metadata checksum removed", resign: false, "recur.checksum without recur.metadata_checksum") { _, m in m["recur.metadata_checksum"] = nil },
        Case("trainer checksums removed", trainer: true, resign: false, "not a trainer file Recur wrote") { _, m in
            m["recur.metadata_checksum"] = nil; m["recur.checksum"] = nil
        },
        Case("duplicated vocabulary entry", "recur.data: vocab has 'a' twice") { _, m in
            try json(&m, "recur.data") { var v = $0["vocab"] as! [String]; v[v.firstIndex(of: "b")!] = "a"; $0["vocab"] = v }
        },
        Case("vocabulary shorter than the model's", "recur.data: vocab has 14 entries, the model's recur.config has 15") { _, m in
            try json(&m, "recur.data") { $0["vocab"] = Array(($0["vocab"] as! [String]).dropLast()) }
        },
        Case("vocabulary entry of two characters", "recur.data: vocab entry 'ab' is not one character") { _, m in
            try json(&m, "recur.data") { var v = $0["vocab"] as! [String]; v[v.firstIndex(of: "b")!] = "ab"; $0["vocab"] = v }
        },
        Case("labels not matching the classes", classify: true, "recur.data: labels has 2 entries, the model's recur.config has 3") { _, m in
            try json(&m, "recur.data") { $0["labels"] = Array(($0["labels"] as! [String]).prefix(2)) }
        },
        Case("classifier vocabulary without its padding token", classify: true, "recur.data: vocab must begin with <pad> and <unk>") { _, m in
            try json(&m, "recur.data") { var v = $0["vocab"] as! [String]; v[0] = "§"; $0["vocab"] = v }
        },
        Case("duplicated label", classify: true, "recur.data: labels has 'mid' twice") { _, m in
            try json(&m, "recur.data") { $0["labels"] = ["mid", "mid", "pos"] }
        },
        Case("task of another family", "recur.data: task classify does not train a charlm model") { _, m in
            try json(&m, "recur.data") { $0["task"] = "classify" }
        },
        Case("unknown task", "recur.data: unknown task 'poetry'") { _, m in try json(&m, "recur.data") { $0["task"] = "poetry" } },
        Case("config not JSON", "recur.config: not valid JSON") { _, m in m["recur.config"] = "{nope" },
        Case("config with a zero hidden size", "recur.config: --hidden must be positive, got 0") { _, m in try json(&m, "recur.config") { $0["hidden"] = 0 } },
        Case("seed not a number", "recur.seed: 'x1' is not a seed") { _, m in m["recur.seed"] = "x1" },
        Case("seed missing", "recur.seed: missing") { _, m in m["recur.seed"] = nil },
        Case("step not a number", trainer: true, "recur.step: 'two' is not a count") { _, m in m["recur.step"] = "two" },
        Case("negative step", trainer: true, "recur.step: '-2' is not a count") { _, m in m["recur.step"] = "-2" },
        Case("step missing", trainer: true, "recur.step: missing") { _, m in m["recur.step"] = nil },
        Case("more skipped steps than steps", trainer: true, "recur.skipped: 5 is out of range 0...2") { _, m in m["recur.skipped"] = "5" },
        Case("optimizer step not steps less skipped", trainer: true, "recur.optimizer_step: 9 is not recur.step less recur.skipped (2)") { _, m in m["recur.optimizer_step"] = "9" },
        Case("best not a bit pattern", trainer: true, "recur.best: 'low' is not the bit pattern of a number") { _, m in m["recur.best"] = "low" },
        Case("optimizer without a learning rate", trainer: true, "recur.optimizer: lacks lr") { _, m in try json(&m, "recur.optimizer") { $0["lr"] = nil } },
        Case("optimizer with beta1 out of range", trainer: true, "recur.optimizer: Adam's beta1 and beta2 must be in [0, 1)") { _, m in try json(&m, "recur.optimizer") { $0["beta1"] = 1.5 } },
        Case("optimizer learning rate beyond Float", trainer: true, "recur.optimizer: ") { _, m in m["recur.optimizer"] = m["recur.optimizer"]!.replacingOccurrences(of: "\"lr\":0.002", with: "\"lr\":1e60") },
        Case("run options missing", trainer: true, "recur.options: missing") { _, m in m["recur.options"] = nil },
        Case("run options with evalEvery 0", trainer: true, "recur.options: steps, evalEvery, logEvery and patience must be positive") { _, m in
            try json(&m, "recur.options") { $0["evalEvery"] = 0 }
        },
        Case("data fingerprint not hexadecimal", trainer: true, "recur.data_fingerprint: 'zz' is not a hexadecimal digest") { _, m in m["recur.data_fingerprint"] = "zz" },
        Case("trainer file of another model file", trainer: true, "recur.model_checksum: the file does not belong to model.safetensors") { _, m in m["recur.model_checksum"] = "123" },
    ]

    @Test("A malformed or edited field is refused in one line naming the file and the key", arguments: cases)
    func refused(_ c: Case) throws {
        let dir = try Self.copy(c.classify ? Self.classify : Self.charlm)
        let file = dir.appendingPathComponent(c.trainerFile ? "trainer.safetensors" : "model.safetensors")
        try Self.rewrite(file, resign: c.resign, c.edit)
        do {
            _ = try Checkpoint.load(dir.path)
            Issue.record("loaded")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix(file.path + ": "), "\(message)")
            #expect(message.contains(c.expect), "\(message)")
            #expect(!message.contains("\n"))
        }
    }

    @Test("A model file written elsewhere (no checksums) loads for inference, every field still checked; one with a tensor checksum alone is refused")
    func foreignModelFiles() throws {
        let dir = try Self.copy(Self.charlm)
        let file = dir.appendingPathComponent("model.safetensors")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("trainer.safetensors"))
        try Self.rewrite(file, resign: false) { t, m in
            m["recur.checksum"] = nil; m["recur.metadata_checksum"] = nil
            let name = t.keys.sorted()[0]
            t[name]!.bits[0] ^= 1   // as PyTorch would after fine-tuning
        }
        let (model, data) = try Model.load(file.path, device: Device.cpu(threads: 1))
        #expect(data.task == "charlm" && model.config.vocab == data.vocab?.count)
        try Self.rewrite(file, resign: false) { _, m in try Self.json(&m, "recur.data") { $0["vocab"] = Array(($0["vocab"] as! [String]).dropLast()) } }
        #expect { _ = try Checkpoint.loadModel(file.path) } throws: { "\($0)".contains("recur.data: vocab has 14 entries") }
        try Self.rewrite(file, resign: false) { t, m in m["recur.checksum"] = Safetensors.checksum(t) }
        #expect { _ = try Checkpoint.loadModel(file.path) } throws: { "\($0)".contains("recur.checksum without recur.metadata_checksum") }
    }

    @Test("generate on a checkpoint whose vocabulary repeats an entry or is shorter than the model's: one line, exit 1, no trap",
          arguments: ["twice", "shorter than the model's"])
    func generateRefusesBadVocabulary(_ kind: String) throws {
        let dir = try Self.copy(Self.charlm)
        let file = dir.appendingPathComponent("model.safetensors")
        try Self.rewrite(file, resign: true) { _, m in
            try Self.json(&m, "recur.data") {
                var v = $0["vocab"] as! [String]
                if kind == "twice" { v[v.firstIndex(of: "b")!] = "a" } else { v.removeLast() }
                $0["vocab"] = v
            }
        }
        let before = try Data(contentsOf: file)
        let r = try RecurProcess.run(["generate", "--checkpoint", dir.path, "--length", "5", "--device", "cpu"])
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("recur: using") }
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(file.path): recur.data: vocab has"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(try Data(contentsOf: file) == before)
    }

    @Test("--resume of a checkpoint with a malformed step is refused naming the file and key; nothing restarts from 0 or is deleted")
    func resumeRefusesMalformedStep() throws {
        let out = Scratch.path("badstep")
        let first = try RecurProcess.run(ReliabilityTests.run + ["--steps", "4", "--stop-after", "2", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        let file = URL(fileURLWithPath: out + "/checkpoint-2/trainer.safetensors")
        try Self.rewrite(file, resign: true) { _, m in m["recur.step"] = "2x" }
        let before = OutputFolderTests.bytes(out).filter { $0.key != ".lock" }
        let r = try RecurProcess.run(ReliabilityTests.run + ["--steps", "4", "--resume", out])
        #expect(r.status == 1)
        #expect(r.stderr.contains("checkpoint-2/trainer.safetensors: recur.step: '2x' is not a count"), "\(r.stderr)")
        #expect(OutputFolderTests.bytes(out).filter { $0.key != ".lock" } == before)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint") == "checkpoint-2")
    }

    @Test("Vocabularies and labels naming an entry twice are refused by the tasks and by generate, never a trap")
    func duplicatesRefused() throws {
        var d = DataDescription(task: "classify")
        d.vocab = ["<pad>", "<unk>", "a", "a"]; d.labels = ["x", "y"]
        #expect(throws: DataError("the checkpoint's vocabulary has 'a' twice")) { try ClassifyTask(trainPath: Self.tsv, testPath: nil, seed: 1, known: d) }
        d.vocab = ["<pad>", "<unk>", "a"]; d.labels = ["x", "x"]
        #expect(throws: DataError("the checkpoint's labels has 'x' twice")) { try ClassifyTask(trainPath: Self.tsv, testPath: nil, seed: 1, known: d) }
        #expect(throws: DataError("the checkpoint's vocabulary has 'a' twice")) { try CharLMTask(path: Self.text, seed: 1, vocab: ["a", "a", "b"]) }
        let (model, data) = try Model.load(try Self.charlm.get().path, device: Device.cpu(threads: 1), batch: 1, sequence: 1)
        var vocab = try #require(data.vocab)
        vocab[1] = vocab[0]
        #expect(throws: ModelError.config("the vocabulary has \(shown(vocab[0])) twice")) { _ = try model.generate(vocabulary: vocab, prompt: "", length: 3) }
        // an entry that would break the line is shown by its code points
        #expect(throws: DataError("the checkpoint's vocabulary has U+A twice")) { try CharLMTask(path: Self.text, seed: 1, vocab: ["\n", "\n", "b"]) }
        #expect(shown("a b") == "'a b'" && shown("\r\n") == "U+D U+A" && shown("\u{2028}") == "U+2028")
        #expect(throws: ModelError.config("the vocabulary has \(vocab.count - 1) entries, the model \(vocab.count)")) {
            _ = try model.generate(vocabulary: Array(vocab.dropLast()), prompt: "", length: 3)
        }
    }

    @Test("Trainer.restore refuses a checkpoint trained on other data, naming the digests; the model is left as it was")
    func restoreChecksTheData() throws {
        let checkpoint = try Checkpoint.load(try Self.charlm.get().path)
        let other = Scratch.path("otherdata") + ".txt"
        try String(repeating: "a brown quick fox. ", count: 30).write(toFile: other, atomically: true, encoding: .utf8)
        var spec = TaskSpec(task: "charlm")
        spec.data = other
        let t = try spec.make(seed: 2, known: try checkpoint.data)
        let model = try Model(try checkpoint.config, device: Device.cpu(threads: 1), seed: 5)
        let before = try model.parameters.map { try model.device.download($0.value.view, as: UInt32.self) }
        let trainer = try Trainer(model: model, task: t, optimizer: OptimizerConfig(), options: TrainOptions(steps: 4))
        do {
            try trainer.restore(checkpoint)
            Issue.record("a checkpoint of other data was restored")
        } catch {
            #expect("\(error)".contains("recur.data_fingerprint: the trainer's data (digest \(t.fingerprint!)) is not the data the checkpoint was trained on"), "\(error)")
        }
        #expect(try model.parameters.map { try model.device.download($0.value.view, as: UInt32.self) } == before)
        #expect(trainer.step == 0)
    }

    @Test("A library run whose stop step is already reached takes no step and writes no second checkpoint")
    func stopBehindWritesNothing() throws {
        let out = URL(fileURLWithPath: Scratch.path("stop-behind"))
        try FileManager.default.copyItem(at: try Self.charlm.get().deletingLastPathComponent(), to: out)
        try? FileManager.default.removeItem(at: out.appendingPathComponent(".lock"))
        let checkpoint = try Checkpoint.load(out.path)
        var spec = TaskSpec(task: "charlm")
        spec.data = Self.text
        let t = try spec.make(seed: 2, known: try checkpoint.data)
        var o = TrainOptions(steps: 4)
        o.stopAfter = 2
        let trainer = try Trainer(model: try Model(try checkpoint.config, device: Device.cpu(threads: 1), seed: 2), task: t,
                                  optimizer: try checkpoint.trainerState.optimizer, options: o)
        try trainer.restore(checkpoint)
        let before = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("checkpoint-") }.sorted()
        _ = try trainer.run(out: out)
        #expect(trainer.step == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("checkpoint-") }.sorted() == before)
    }
}
