import Foundation
import Recur
import Testing

/// The Swift API a package user writes against: models from layers, data from arrays, metrics as an
/// async sequence.
@Suite struct SwiftAPITests {
    @Test("Layers compose into each supported architecture")
    func layersCompose() throws {
        let lm = try ModelConfig(.nextToken, batch: 8, sequence: 16) {
            Layer.embedding(vocab: 30, dim: 12)
            Layer.lstm(hidden: 24, layers: 2, dropout: 0.1)
            Layer.linear(outputs: 30)
        }
        var expected = ModelConfig(family: .languageModel)
        expected.vocab = 30; expected.embedding = 12; expected.hidden = 24; expected.layers = 2; expected.dropout = 0.1
        expected.batch = 8; expected.sequence = 16
        #expect(lm == expected)

        let stacked = try ModelConfig(.nextToken, batch: 8, sequence: 16) {
            Layer.embedding(vocab: 30, dim: 12)
            Layer.gru(hidden: 24)
            Layer.gru(hidden: 24)
            Layer.linear(outputs: 30)
        }
        #expect(stacked.cell == .gru && stacked.layers == 2)

        let cnn = try ModelConfig(.classify, batch: 4, sequence: 40) {
            Layer.embedding(vocab: 50, dim: 8)
            Layer.conv1d(filters: 6, widths: [2, 3])
            Layer.dropout(0.5)
            Layer.linear(outputs: 3)
        }
        #expect(cnn.family == .classifier && cnn.encoder == .cnn && cnn.convFilters == 6 && cnn.convWidths == [2, 3]
                && cnn.dropout == 0.5 && cnn.outputs == 3)

        let regressor = try ModelConfig(.regress, batch: 4, sequence: 12) {
            Layer.inputs(features: 2)
            Layer.rnn(hidden: 8, relu: true)
            Layer.linear(outputs: 1)
        }
        #expect(regressor.family == .regressor && regressor.inputs == 2 && regressor.cell == .rnnRelu)
    }

    @Test("Layer sequences Recur does not train are refused, naming the problem")
    func layersRefused() {
        func reason(_ objective: ModelConfig.Objective, @LayerBuilder _ layers: () -> [Layer]) -> String {
            do { _ = try ModelConfig(objective, batch: 4, sequence: 8, layers: layers); return "accepted" } catch { return "\(error)" }
        }
        #expect(reason(.nextToken) { Layer.lstm(hidden: 4); Layer.linear(outputs: 5) }.contains("starts with .embedding"))
        #expect(reason(.nextToken) { Layer.embedding(vocab: 5, dim: 4); Layer.linear(outputs: 5) }.contains("must follow the input"))
        #expect(reason(.nextToken) { Layer.embedding(vocab: 5, dim: 4); Layer.lstm(hidden: 4); Layer.linear(outputs: 6) }.contains("vocab (5) outputs"))
        #expect(reason(.nextToken) { Layer.embedding(vocab: 5, dim: 4); Layer.lstm(hidden: 4); Layer.gru(hidden: 4); Layer.linear(outputs: 5) }
            .contains("share one cell"))
        #expect(reason(.classify) { Layer.embedding(vocab: 5, dim: 4); Layer.lstm(hidden: 4) }.contains("ends with .linear"))
        #expect(reason(.nextToken) { Layer.embedding(vocab: 5, dim: 4); Layer.conv1d(filters: 2, widths: [2]); Layer.linear(outputs: 5) }
            .contains("conv1d is supported once, in a classifier"))
        #expect(reason(.classify) { Layer.embedding(vocab: 5, dim: 4); Layer.lstm(hidden: 0); Layer.linear(outputs: 2) }.contains("--hidden must be positive"))
    }

    @Test("generate (weights derived once for the whole sample) gives the text of a plain loop of forward passes, on both devices",
          arguments: ["lstm", "gru", "rnn"])
    func generateMatchesPlainLoop(_ cell: String) throws {
        let vocabulary = (0..<11).map { String(UnicodeScalar(UInt8(97 + $0))) }   // a ... k
        var config = try ModelConfig(.nextToken, batch: 1, sequence: 8) {
            Layer.embedding(vocab: vocabulary.count, dim: 8)
            switch cell {
            case "lstm": Layer.lstm(hidden: 20, layers: 2)
            case "gru": Layer.gru(hidden: 20, layers: 2)
            default: Layer.rnn(hidden: 20, layers: 2)
            }
            Layer.linear(outputs: vocabulary.count)
        }
        config.forgetBias = 0
        var texts: [String] = []
        for device in [TestDevices.cpu] + (TestDevices.openCL().map { [$0] } ?? []) {
            let model = try Model(config, device: device, seed: 5, training: false)
            let sampled = try model.generate(vocabulary: vocabulary, prompt: "abc", length: 24, temperature: 1, seed: 9)
            try model.resetState()   // the same sampling, one plain forward per character
            var batch = Batch(T: 3, b: 1), plain = "abc"
            batch.tokens = [0, 1, 2]; batch.labels = batch.tokens
            for i in 0..<24 {
                try model.forward(batch, step: nil)
                try model.carryState()
                let next = Sampler.sample(Array(try model.outputs().suffix(vocabulary.count)), temperature: 1, topK: 0, seed: 9, position: UInt32(i))
                plain += vocabulary[next]
                batch = Batch(T: 1, b: 1); batch.tokens = [Int32(next)]; batch.labels = batch.tokens
            }
            #expect(sampled == plain, "\(cell) on \(device.info.selector)")
            #expect(sampled.count == 27)
            texts.append(sampled)
        }
        #expect(texts.count == 2 && texts[0] == texts[1], "CPU and OpenCL sampled different text: \(texts)")
    }

    @Test("generate's streaming form hands over the prompt, then one character at a time; joined they are the returned text; an error from emit stops it")
    func generateStreams() throws {
        let vocabulary = (0..<7).map { String(UnicodeScalar(UInt8(97 + $0))) }
        let config = try ModelConfig(.nextToken, batch: 1, sequence: 4) {
            Layer.embedding(vocab: vocabulary.count, dim: 4)
            Layer.gru(hidden: 6)
            Layer.linear(outputs: vocabulary.count)
        }
        let model = try Model(config, device: Device.cpu(), seed: 2, training: false)   // a device of its own: other tests run beside it
        let whole = try model.generate(vocabulary: vocabulary, prompt: "ab", length: 12, seed: 4)
        var pieces: [String] = []
        try model.generate(vocabulary: vocabulary, prompt: "ab", length: 12, seed: 4) { pieces.append($0) }
        #expect(pieces.first == "ab" && pieces.count == 13 && pieces.dropFirst().allSatisfy { $0.count == 1 })
        #expect(pieces.joined() == whole)
        struct Stop: Error {}
        var calls = 0
        #expect(throws: Stop.self) {
            try model.generate(vocabulary: vocabulary, prompt: "", length: 12, seed: 4) { _ in calls += 1; if calls == 3 { throw Stop() } }
        }
        #expect(calls == 3)
        #expect(throws: ModelError.self) { try model.generate(vocabulary: vocabulary, prompt: "", length: Model.maxGenerateLength + 1) { _ in } }
    }

    @Test("Tokens from an array train a model; the event sequence delivers every event and ends with the run")
    func arraysAndEvents() async throws {
        let text = Array("the cat sat on the mat. the dog sat on the log. ".utf8)
        let vocabulary = Array(Set(text)).sorted().map { String(UnicodeScalar($0)) }
        let tokens = (0..<40).flatMap { _ in text }.map { Int32(vocabulary.firstIndex(of: String(UnicodeScalar($0)))!) }
        func trainer() throws -> Trainer {
            let task = try CharLMTask(tokens: tokens, vocabulary: vocabulary, seed: 3)
            var config = try ModelConfig(.nextToken, batch: 4, sequence: 16) {
                Layer.embedding(vocab: vocabulary.count, dim: 8)
                Layer.lstm(hidden: 16)
                Layer.linear(outputs: vocabulary.count)
            }
            try task.configure(&config)
            var options = TrainOptions(steps: 12)
            options.evalEvery = 4; options.logEvery = 2
            return try Trainer(model: try Model(config, device: TestDevices.cpu, seed: 3), task: task,
                               optimizer: OptimizerConfig(), options: options)
        }
        let plain = try trainer().run(out: nil)
        let streamed = try trainer()
        var steps: [Int] = [], evaluations: [Int] = []
        for try await event in streamed.events(out: nil) {
            switch event {
            case .step(let s, _, _, _): steps.append(s)
            case .evaluation(let s, _): evaluations.append(s)
            case .checkpoint: Issue.record("no checkpoint without an output folder")
            }
        }
        #expect(steps == [1, 2, 4, 6, 8, 10, 12])
        #expect(evaluations == [4, 8, 12])
        let summary = try #require(streamed.summary)
        #expect(summary.valLoss.bitPattern == plain.valLoss.bitPattern && summary.trainLoss.bitPattern == plain.trainLoss.bitPattern)
        #expect(summary.valLoss < Float(Foundation.log(Double(vocabulary.count))))   // learned something
    }

    @Test("Arrays with a token outside the vocabulary, or labelled texts with one label, are refused")
    func badArrays() {
        #expect(throws: DataError.self) { try CharLMTask(tokens: [0, 1, 7], vocabulary: ["a", "b"], seed: 1) }
        #expect(throws: DataError.self) {
            let task = try ClassifyTask(examples: [("x", "abc"), ("x", "abd")], seed: 1)
            var c = ModelConfig(family: .classifier)
            try task.configure(&c)
        }
    }

    @Test("A series from an array (with gaps filled) trains a regressor and reports MSE against the baselines")
    func seriesFromArray() throws {
        var values: [Float?] = (0..<240).map { Float(sin(Double($0) * .pi / 6) * 10 + 50) }
        values[17] = nil; values[100] = nil
        #expect(throws: DataError.self) { try ForecastTask(series: values, seed: 1) }   // gaps need a fill
        let task = try ForecastTask(series: values, seed: 1, fill: "linear", season: 12)
        #expect(task.filled == 2)
        let config = try ModelConfig(.regress, batch: 8, sequence: 24) {
            Layer.inputs(features: 1)
            Layer.gru(hidden: 16)
            Layer.linear(outputs: 1)
        }
        var c = config
        try task.configure(&c)
        var options = TrainOptions(steps: 60)
        options.evalEvery = 60
        let summary = try Trainer(model: try Model(c, device: TestDevices.cpu, seed: 1), task: task,
                                  optimizer: OptimizerConfig(), options: options).run(out: nil)
        let mse = try #require(summary.valMSE)
        #expect(mse.isFinite && summary.baselineMSE != nil)
        #expect(throws: DataError.self) { try ForecastTask(series: [1, .infinity, 2], seed: 1) }
    }
}
