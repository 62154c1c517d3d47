import Foundation
import Recur
import Testing

/// The checkpoint is PyTorch's state_dict: an independent reader (Tests/pytorch_layout_check.py,
/// standard library + numpy) applies nn.Embedding, nn.LSTM / nn.GRU / nn.RNN and nn.Linear exactly as
/// PyTorch documents them, in float64, to Recur's model.safetensors and must get Recur's logits.
/// Needs python3 with numpy (on every machine of this project; the test fails, not skips, without it).
@Suite struct PyTorchLayoutTests {
    @Test(arguments: [CellKind.lstm, .gru, .rnn])
    func logitsMatchPyTorchEquations(_ cell: CellKind) throws {
        var c = ModelConfig(family: .languageModel)
        c.cell = cell; c.vocab = 11; c.embedding = 6; c.hidden = 9; c.layers = 2; c.batch = 1; c.sequence = 7
        let model = try Model(c, device: Device.cpu(), seed: 21)
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9, 2]
        var batch = Batch(T: 7, b: 1)
        batch.tokens = tokens; batch.labels = tokens
        try model.forward(batch, step: nil)
        let ours = try model.outputs()

        let dir = Scratch.root.appendingPathComponent("layout-\(cell.rawValue)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let task = try MemoryTask(seed: 1)   // any task: only the model file is read
        let trainer = try Trainer(model: model, task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 1))
        let saved = try trainer.save(to: dir)

        let p = Process(), out = Pipe(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Repo.root.appendingPathComponent("Tests/pytorch_layout_check.py").path,
                       saved.appendingPathComponent("model.safetensors").path] + tokens.map(String.init)
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile(), message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "python3 with numpy is needed: \(String(decoding: message, as: UTF8.self))")
        guard p.terminationStatus == 0 else { return }
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [[Double]]).flatMap { $0 }
        #expect(reference.count == ours.count)
        let worst = zip(ours, reference).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? .infinity
        #expect(worst < 1e-5, "\(cell): worst relative difference \(worst)")
    }
}
