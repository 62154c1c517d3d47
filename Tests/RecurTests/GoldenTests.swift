import Foundation
@testable import Recur
import Testing

/// Golden bits: every model family trained a few steps on the CPU device and on the OpenCL device ends
/// in the checkpoint tensors pinned here, and a language model samples the pinned text. A change to
/// how memory is laid out, how ops are grouped or how devices are found must keep these values; only a
/// deliberate change of arithmetic may update them (and says so).
@Suite struct GoldenTests {
    typealias Setup = TrainingTests.Setup

    static let csv: String = {
        let path = Scratch.root.appendingPathComponent("golden.csv").path
        let rows = (0..<160).map { i in "\(i),\(String(format: "%.4f", sin(Double(i) * 0.3) * 10 + Double(i % 12)))" }
        try? (["t,level"] + rows).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// Every family: language models of each cell (folded and not, stacked with dropout), recurrent
    /// and convolutional classifiers (folded and not), regressors of each cell.
    static let setups: [Setup] = TrainingTests.setups + TrainingTests.wide + [
        TrainingTests.foldable[3],
        Setup(name: "charlm RNN-ReLU, 2 layers", spec: TrainingTests.setups[0].spec) {
            $0.cell = .rnnRelu; $0.layers = 2; $0.hidden = 8; $0.embedding = 5; $0.batch = 3; $0.sequence = 6
        },
        Setup(name: "forecast LSTM, 2 layers with dropout", spec: { var s = TaskSpec(task: "forecast"); s.data = csv; s.column = "level"; return s }()) {
            $0.cell = .lstm; $0.layers = 2; $0.dropout = 0.1; $0.hidden = 7; $0.batch = 4; $0.sequence = 10
        },
        Setup(name: "adding RNN-ReLU", spec: TaskSpec(task: "adding")) { $0.cell = .rnnRelu; $0.hidden = 6; $0.batch = 4; $0.sequence = 6 },
        Setup(name: "adding GRU", spec: TaskSpec(task: "adding")) { $0.cell = .gru; $0.hidden = 6; $0.batch = 4; $0.sequence = 6 },
        Setup(name: "classify LSTM", spec: TrainingTests.setups[1].spec) { $0.cell = .lstm; $0.hidden = 7; $0.embedding = 5; $0.batch = 5; $0.sequence = 9 },
    ]

    /// FNV-1a over both files' tensors (sorted names, dtype, shape, bits).
    static func digest(_ folder: URL) throws -> String {
        var h = FNV1a()
        for file in ["model.safetensors", "trainer.safetensors"] {
            let (tensors, _) = try Safetensors.decode(Data(contentsOf: folder.appendingPathComponent("checkpoint").appendingPathComponent(file)))
            for name in tensors.keys.sorted() {
                let t = tensors[name]!
                h.add(name.utf8); h.add(t.dtype.utf8)
                h.add(array: t.shape.map(Int64.init)); h.add(array: t.bits)
            }
        }
        return h.hex
    }

    /// The pinned digests, by setup name.
    static let golden: [String: String] = [
        "classify CNN": "7236fc1ac468fe9",
        "memory GRU": "c16c41a6143c62c4",
        "charlm 2-layer LSTM with dropout": "c5e69ac32c6e3b30",
        "adding RNN": "f0d1cbd97dc89053",
        "classify CNN, embedding folded": "7236fc1ac468fe9",
        "charlm LSTM, embedding folded": "c4f202921417c971",
        "memory GRU, embedding folded": "3cff688eb291412f",
        "charlm 2-layer GRU": "e743fc075a8509f0",
        "memory GRU, batch 26": "c898c454a6f46069",
        "adding RNN, batch 17": "c592f463b1185ad0",
        "charlm 2-layer LSTM with dropout, batch 24": "5aa2dce168dc44f0",
        "charlm RNN": "9aea2594d5bfabce",
        "charlm RNN-ReLU, 2 layers": "4344abeb02ef9d52",
        "forecast LSTM, 2 layers with dropout": "1902c8c482de38d4",
        "adding RNN-ReLU": "d1a8536437769510",
        "adding GRU": "8f09c1df198b1d42",
        "classify LSTM": "bdf693468744b81c",
    ]

    /// The pinned text of `sample` for the language models.
    static let goldenText: [String: String] = [
        "charlm 2-layer LSTM with dropout": "the pshe.vq wvpx.ov kau..ulog ush.hltfnkbbru",
        "charlm LSTM, embedding folded": "the knvoyarlfayyqgdxzsdolq dokjjtlpv yyc  ge",
        "charlm 2-layer GRU": "the gobowvgwqw asxzwgruwwshxftax.g..lsy llhs",
        "charlm 2-layer LSTM with dropout, batch 24": "the pste.vgpwvpx.ovygmy. uloq wuh.brhuzgbbaw",
        "charlm RNN": "the xazcxeqoeqoj.qyb.trscopslh.pgk ueepwszng",
        "charlm RNN-ReLU, 2 layers": "the nglpx  .pfnqetconles.ehwf.xplslrrbmvaarb",
    ]

    static func sample(_ s: Setup, _ folder: URL, on d: Device) throws -> String? {
        guard s.spec.task == "charlm" else { return nil }
        let (model, data) = try Model.load(folder.path, device: d)
        return try model.generate(vocabulary: data.vocab ?? [], prompt: "the ", length: 40, temperature: 0.9, topK: 0, seed: 5)
    }

    @Test("Every family's checkpoint after 4 steps, and its sampled text, keep the pinned bits on the CPU and the OpenCL device", arguments: setups)
    func pinned(_ s: Setup) throws {
        guard let opencl = TestDevices.openCL() else { return }
        for d in [TestDevices.cpu, opencl] {
            let out = try Scratch.folder("golden")
            _ = try TrainingTests.trainer(s, on: d, steps: 4).run(out: out)
            let digest = try Self.digest(out), text = try Self.sample(s, out, on: d)
            if ProcessInfo.processInfo.environment["RECUR_GOLDEN_PRINT"] != nil {
                print("GOLDEN \(d.info.selector) \"\(s.name)\": \"\(digest)\"" + (text.map { " TEXT \($0.debugDescription)" } ?? ""))
            }
            #expect(digest == Self.golden[s.name], "\(s.name) on \(d.info.selector)")
            if let text { #expect(text == Self.goldenText[s.name], "\(s.name) on \(d.info.selector)") }
        }
    }
}
