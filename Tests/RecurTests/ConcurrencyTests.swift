import Foundation
@testable import Recur
import Testing

/// One device shared by many threads: every caller gets the bits it would get alone.
@Suite struct ConcurrencyTests {
    /// A piece of work on a device, giving bits to compare: a short training run (the trainer's
    /// sizing pass included) or a sampled text.
    struct Work: Sendable {
        let name: String
        let run: @Sendable (Device) throws -> [UInt32]
    }

    /// Parameter bits after a short run of a `TrainingTests` setup, with the last training loss.
    static func training(_ s: TrainingTests.Setup) -> Work {
        Work(name: "train \(s.name)") { device in
            let trainer = try TrainingTests.trainer(s, on: device, steps: 3)
            let summary = try trainer.run(out: nil)
            var out = [summary.trainLoss.bitPattern, summary.valLoss.bitPattern]
            for p in trainer.model.parameters { out += bits(try device.download(p.value.view)) }
            return out
        }
    }

    /// A sampled text (as scalars) from a fresh two-layer model of `cell`.
    static func sampling(_ cell: CellKind) -> Work {
        Work(name: "sample \(cell)") { device in
            let vocabulary = (0..<11).map { String(UnicodeScalar(UInt8(97 + $0))) }
            var config = ModelConfig(family: .languageModel)
            config.cell = cell; config.vocab = vocabulary.count; config.embedding = 8; config.hidden = 20; config.layers = 2
            config.batch = 1; config.sequence = 8
            let model = try Model(config, device: device, seed: 5, training: false)
            let text = try model.generate(vocabulary: vocabulary, prompt: "abc", length: 20, temperature: 1, seed: 9)
            return text.unicodeScalars.map(\.value)
        }
    }

    static let work: [Work] = [
        training(TrainingTests.setups[0]),   // charlm 2-layer LSTM with dropout
        training(TrainingTests.setups[1]),   // classify CNN
        training(TrainingTests.setups[2]),   // memory GRU
        training(TrainingTests.setups[3]),   // adding RNN
        training(TrainingTests.setups[7]),   // charlm 2-layer GRU
        sampling(.lstm), sampling(.gru), sampling(.rnn),
    ]

    /// Runs every job on its own thread, all started together; the results in job order.
    static func together(_ jobs: [@Sendable () throws -> [UInt32]]) -> [Result<[UInt32], any Error>] {
        let results = Results(count: jobs.count)
        let start = DispatchSemaphore(value: 0), done = DispatchGroup()
        for (i, job) in jobs.enumerated() {
            done.enter()
            Thread {
                start.wait()
                results.set(i, Result { try job() })
                done.leave()
            }.start()
        }
        for _ in jobs { start.signal() }
        done.wait()
        return results.all
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Result<[UInt32], any Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<[UInt32], any Error>) { lock.withLock { values[i] = r } }
        var all: [Result<[UInt32], any Error>] { lock.withLock { values.map { $0! } } }
    }

    @Test("Models of every family trained and sampled at once on one CPU device and one OpenCL device give the bits of the same work done alone, round after round")
    func sharedDevicesKeepTheBits() throws {
        guard let opencl = TestDevices.openCL() else { return }
        let devices = [Device.cpu(threads: 2), opencl]
        var alone: [[UInt32]] = []
        for device in devices { for w in Self.work { alone.append(try w.run(device)) } }
        // the CPU and the OpenCL device agree alone, so any difference below is the sharing's
        #expect(Array(alone[..<Self.work.count]) == Array(alone[Self.work.count...]))
        var jobs: [@Sendable () throws -> [UInt32]] = []
        for d in devices { for w in Self.work { jobs.append { try w.run(d) } } }
        let names = devices.flatMap { d in Self.work.map { "\($0.name) on \(d.info.selector)" } }
        for round in 0..<4 {
            for (i, r) in Self.together(jobs).enumerated() {
                switch r {
                case .success(let b): #expect(b == alone[i], "round \(round): \(names[i]) differs from the same work alone")
                case .failure(let e): Issue.record("round \(round): \(names[i]) failed: \(e)")
                }
            }
        }
    }

    @Test("The whole op catalogue run by several threads at once on one device, each in its own order, gives the bits of each case run alone",
          arguments: ["cpu", "opencl"])
    func catalogueUnderContention(_ which: String) throws {
        guard let device = which == "cpu" ? Device.cpu(threads: 2) : TestDevices.openCL() else { return }
        let cases = OpCatalogue.fixed
        let alone = try cases.map { try $0.run(on: device, seed: 7) }
        let threads = 3
        // thread j runs the cases starting at a different place, so that different ops meet
        var jobs: [@Sendable () throws -> [UInt32]] = []
        for j in 0..<threads {
            jobs.append {
                let order = (0..<cases.count).map { (j * cases.count / threads + $0) % cases.count }
                var out = [[UInt32]](repeating: [], count: cases.count)
                for i in order { out[i] = try cases[i].run(on: device, seed: 7).flatMap { $0 } }
                return out.flatMap { $0 }
            }
        }
        let expected = alone.flatMap { $0.flatMap { $0 } }
        for (j, r) in Self.together(jobs).enumerated() {
            switch r {
            case .success(let b):
                guard b != expected else { continue }
                let sizes = alone.map { $0.reduce(0) { $0 + $1.count } }
                var at = 0
                for (i, n) in sizes.enumerated() {
                    #expect(Array(b[at..<(at + n)]) == Array(expected[at..<(at + n)]), "thread \(j): \(cases[i]) differs from alone")
                    at += n
                }
            case .failure(let e): Issue.record("thread \(j) failed: \(e)")
            }
        }
    }

    @Test("A model used by a second thread while a first is inside it refuses at once, naming the rule")
    func modelIsOneThreadAtATime() throws {
        var config = ModelConfig(family: .languageModel)
        config.vocab = 5; config.embedding = 4; config.hidden = 6; config.batch = 1; config.sequence = 4
        let model = try Model(config, device: TestDevices.cpu, seed: 1, training: false)
        let second = try model.user.run {
            Self.together([{ try model.resetState(); return [] }])[0]
        }
        #expect(throws: ModelError.self) { try second.get() }
        if case .failure(let e) = second { #expect("\(e)".contains("in use on another thread")) }
        try model.resetState()   // free again once the first is out
        var batch = Batch(T: 2, b: 1)
        batch.tokens = [1, 2]; batch.labels = [2, 3]
        try model.forward(batch, step: nil)   // and re-entered by its own thread (forward inside `run`)
        _ = try model.user.run { try model.outputs() }
    }

    @Test("One task shared by threads gives each the batches it would get alone (the classifier's epoch order is cached)")
    func sharedTaskBatches() throws {
        let (task, config) = try TrainingTests.model(TrainingTests.setups[1])   // classify: 60 examples
        let steps = Array(0..<40)   // batches of 5: several epochs, visited out of order by each thread
        let alone = steps.map { task.batch(step: $0, b: config.batch, T: config.sequence).tokens.map { UInt32(bitPattern: $0) } }
        nonisolated(unsafe) let shared = task
        var jobs: [@Sendable () throws -> [UInt32]] = []
        for j in 0..<4 {
            jobs.append {
                var out = [[UInt32]](repeating: [], count: steps.count)
                for k in steps.indices {
                    let step = (k * 7 + j * 11) % steps.count
                    out[step] = shared.batch(step: step, b: config.batch, T: config.sequence).tokens.map { UInt32(bitPattern: $0) }
                }
                return out.flatMap { $0 }
            }
        }
        for (j, r) in Self.together(jobs).enumerated() { #expect(try r.get() == alone.flatMap { $0 }, "thread \(j)") }
    }
}
