import Foundation
@testable import Recur
import Testing

/// `recur eval`: data too short (or empty) for the checkpoint's model is refused in one line naming
/// --data and the lengths, never a trap or a NaN; its messages name eval's own flags; a flag the
/// checkpoint's task would not use is refused.
@Suite struct EvalTests {
    typealias Case = BadInputTests.Case

    static let dir: URL = {
        let d = Scratch.root.appendingPathComponent("eval")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        func put(_ name: String, _ text: String) { _ = FileManager.default.createFile(atPath: d.appendingPathComponent(name).path, contents: Data(text.utf8)) }
        put("text.txt", String(repeating: "to be or not to be. ", count: 20))
        put("short.txt", "to be.")
        put("series.csv", "t,value\n" + (0..<120).map { "\($0),\(($0 * 7) % 12)" }.joined(separator: "\n"))
        put("gaps.csv", "t,value\n" + (0..<60).map { $0 == 50 ? "\($0)," : "\($0),\(($0 * 7) % 12)" }.joined(separator: "\n"))
        put("three.csv", "t,value\n1,2\n2,3\n3,4\n")
        put("header.csv", "t,value\n")
        put("one.csv", "t,value\n1,2\n")
        put("train.tsv", (0..<40).map { $0 % 2 == 0 ? "pos\tgood \($0)" : "neg\tbad \($0)" }.joined(separator: "\n"))
        put("blank.tsv", "\n  \n\n")
        put("unseen.tsv", "pos\tgood\nmeh\tnever seen\n")
        return d
    }()

    static func p(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let tiny = ["--hidden", "8", "--batch", "2", "--steps", "2", "--eval-every", "2", "--device", "cpu"]

    /// A 2-step run of `task` into a folder beside the data (so the cases' snapshot covers it).
    static func trained(_ name: String, _ args: [String]) -> String {
        let out = dir.appendingPathComponent("run-\(name)").path
        if !FileManager.default.fileExists(atPath: out + "/checkpoint") {
            _ = try? RecurProcess.run(["train"] + args + tiny + ["--out", out])
        }
        return out
    }

    static let charlm = trained("charlm", ["--task", "charlm", "--data", p("text.txt"), "--embedding", "4", "--seq", "16"])
    static let forecast = trained("forecast", ["--task", "forecast", "--data", p("series.csv"), "--column", "value", "--seq", "4", "--season", "3"])
    static let classify = trained("classify", ["--task", "classify", "--data", p("train.tsv"), "--embedding", "4", "--seq", "8"])
    static let memory = trained("memory", ["--task", "memory", "--max-distance", "3", "--embedding", "4"])

    static let cases: [Case] = [
        // data too short or empty for the model
        Case(name: "charlm text no longer than the sequence", args: ["eval", "--checkpoint", charlm, "--data", p("short.txt")],
             expect: "--data \(p("short.txt")): 6 characters to evaluate on, fewer than the model's sequence length + 1 (16 + 1)"),
        Case(name: "forecast series shorter than the window plus the season", args: ["eval", "--checkpoint", forecast, "--data", p("three.csv")],
             expect: "--data \(p("three.csv")): the series has 3 values, too few to evaluate on"),
        Case(name: "forecast CSV with a header only", args: ["eval", "--checkpoint", forecast, "--data", p("header.csv")],
             expect: "--data \(p("header.csv")): the series has 0 values, too few to evaluate on"),
        Case(name: "forecast CSV with one row", args: ["eval", "--checkpoint", forecast, "--data", p("one.csv")],
             expect: "the series has 1 values, too few to evaluate on: its last fifth (0 values) is evaluated, each value after the 4 before it (the model's window of 4, the season of 3)"),
        Case(name: "classify TSV without examples", args: ["eval", "--checkpoint", classify, "--data", p("blank.tsv")],
             expect: "--data \(p("blank.tsv")): no examples", absent: "--test"),
        // messages name eval's flags
        Case(name: "forecast checkpoint without --data", args: ["eval", "--checkpoint", forecast],
             expect: "--data: --checkpoint \(forecast) is a forecast model; give --data FILE", absent: "--task"),
        Case(name: "classify label never seen", args: ["eval", "--checkpoint", classify, "--data", p("unseen.tsv")],
             expect: "--data \(p("unseen.tsv")): example 2 has label 'meh' that training never saw", absent: "--test"),
        Case(name: "forecast data with gaps", args: ["eval", "--checkpoint", forecast, "--data", p("gaps.csv")],
             expect: "--data \(p("gaps.csv")): 1 missing values in column 'value' (first on line 52); pass --fill previous|linear|zero"),
        // flags the checkpoint's task would not use
        Case(name: "memory checkpoint with --data", args: ["eval", "--checkpoint", memory, "--data", p("text.txt")],
             expect: "--data: --checkpoint \(memory) is a memory model, evaluated on data it generates"),
        Case(name: "charlm checkpoint with --column", args: ["eval", "--checkpoint", charlm, "--data", p("text.txt"), "--column", "foo"],
             expect: "--column is for forecast checkpoints; --checkpoint \(charlm) is a charlm model"),
        Case(name: "classify checkpoint with --fill", args: ["eval", "--checkpoint", classify, "--data", p("train.tsv"), "--fill", "linear"],
             expect: "--fill is for forecast checkpoints; --checkpoint \(classify) is a classify model"),
        Case(name: "eval --fill unknown", args: ["eval", "--checkpoint", forecast, "--data", p("gaps.csv"), "--fill", "mean"],
             expect: "--fill must be previous, linear or zero, got 'mean'"),
    ]

    @Test(arguments: cases)
    func rejected(_ c: Case) throws { try BadInputTests.expectRejected(c, in: Self.dir) }

    @Test("eval --fill evaluates a forecast checkpoint trained without one on data with gaps; memory evaluates on its own data")
    func accepted() throws {
        let filled = try RecurProcess.run(["eval", "--checkpoint", Self.forecast, "--data", Self.p("gaps.csv"), "--fill", "linear", "--device", "cpu"])
        #expect(filled.status == 0 && filled.stdout.contains("forecast on \(Self.p("gaps.csv")): loss "), "\(filled.stderr)")
        #expect(!filled.stdout.contains("nan"), "\(filled.stdout)")
        let memory = try RecurProcess.run(["eval", "--checkpoint", Self.memory, "--device", "cpu"])
        #expect(memory.status == 0 && memory.stdout.contains("memory on generated data: loss "), "\(memory.stderr)")
    }

    @Test("A checkpoint whose sequence length was set larger than the data is refused, naming both lengths")
    func sequenceLongerThanData() throws {
        let folder = URL(fileURLWithPath: Scratch.path("longer"))
        let source = try FileManager.default.destinationOfSymbolicLink(atPath: Self.charlm + "/checkpoint")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Self.charlm).appendingPathComponent(source), to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("trainer.safetensors"))   // evaluation reads the model file
        try CheckpointValidationTests.rewrite(folder.appendingPathComponent("model.safetensors"), resign: true) { _, m in
            try CheckpointValidationTests.json(&m, "recur.config") { $0["sequence"] = 5000 }
        }
        let r = try RecurProcess.run(["eval", "--checkpoint", folder.path, "--data", Self.p("text.txt"), "--device", "cpu"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--data \(Self.p("text.txt")): 400 characters to evaluate on, fewer than the model's sequence length + 1 (5000 + 1)"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test("Each task's evaluate refuses a model its data cannot fill, never a trap or a NaN")
    func libraryRefuses() throws {
        let device = Device.cpu(threads: 1)
        func model(_ family: ModelConfig.Family, sequence: Int, vocab: Int = 0, inputs: Int = 1, outputs: Int = 1) throws -> Model {
            var c = ModelConfig(family: family)
            c.hidden = 4; c.embedding = 4; c.batch = 2; c.sequence = sequence
            c.vocab = vocab; c.inputs = inputs; c.outputs = outputs
            return try Model(c, device: device, seed: 1, training: false)
        }
        let text = try CharLMTask(tokens: [0, 1, 0, 1, 1, 0, 1, 0, 0, 1], vocabulary: ["a", "b"], validationFraction: 0.5, seed: 1)
        #expect { _ = try text.evaluate(try model(.languageModel, sequence: 5, vocab: 2)) } throws: { "\($0)".contains("tokens: 5 characters to evaluate on") }
        let series = try ForecastTask(series: (0..<10).map { Float($0) }, seed: 1)
        #expect { _ = try series.evaluate(try model(.regressor, sequence: 9)) } throws: { "\($0)".contains("series: the series has 10 values, too few") }
        let examples = [(label: "x", text: "aa"), (label: "y", text: "bb")]
        let classify = try ClassifyTask(examples: examples, test: [], seed: 1)
        #expect { _ = try classify.evaluate(try model(.classifier, sequence: 4, vocab: classify.data.vocab!.count, outputs: 2)) } throws: { "\($0)" == "test: no examples to evaluate on" }
        let memory = try MemoryTask(seed: 1, maxDistance: 5)
        #expect { _ = try memory.evaluate(try model(.classifier, sequence: 14, vocab: MemoryTask.vocab.count, outputs: 8)) } throws: { "\($0)".contains("shorter than a sentence at distance 5 (15 words)") }
        let adding = AddingTask(seed: 1)
        #expect { _ = try adding.evaluate(try model(.regressor, sequence: 1, inputs: 2)) } throws: { "\($0)".contains("sequence length 1 is below 2") }
    }
}
