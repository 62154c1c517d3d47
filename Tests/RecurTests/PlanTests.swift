import Foundation
@testable import Recur
import Testing

/// `recur plan`: the memory plan of the model `recur train` would build, or of a checkpoint's model,
/// without allocating it; its total is what building the model allocates.
@Suite struct PlanTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("recur plan from train's flags and from a checkpoint: every tensor with its lifetime and region, and the library's totals")
    func planFromFlagsAndCheckpoint() throws {
        let out = try ResumeTests.stopped("plan")   // memory, lstm, hidden 16, batch 8
        let c = try Checkpoint.load(out)
        let config = try c.config
        let device = Device.cpu(threads: 1)
        let r = try RecurProcess.run(["plan", "--task", "memory", "--max-distance", "6", "--hidden", "16", "--embedding", "8", "--batch", "8",
                                      "--device", "cpu", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let flags = try Self.object(r.stdout)
        var adam = OptimizerConfig(); adam.kind = .adam
        let expected = try Model.plan(config, device: device, optimizer: adam)
        #expect((flags["totalBytes"] as? Double).map(UInt64.init) == expected.totalBytes, "\(flags["totalBytes"] ?? "-") vs \(expected.totalBytes)")
        let tensors = try #require(flags["tensors"] as? [[String: Any]])
        #expect(tensors.count == expected.tensors.count)
        #expect(tensors.contains { $0["name"] as? String == "rnn.weight_hh_l0" && $0["lifetime"] as? String == "parameter" })
        #expect(tensors.contains { $0["name"] as? String == "rnn.weight_hh_l0.moment1" && $0["lifetime"] as? String == "optimizer state" })

        let training = try RecurProcess.run(["plan", "--checkpoint", out, "--device", "cpu", "--json"])   // with the checkpoint's optimizer
        #expect(training.status == 0, "\(training.stderr)")
        #expect((try Self.object(training.stdout)["totalBytes"] as? Double).map(UInt64.init) == expected.totalBytes)
        let inference = try RecurProcess.run(["plan", "--checkpoint", out, "--inference", "--device", "cpu"])
        #expect(inference.status == 0, "\(inference.stderr)")
        let lean = try Model.plan(config, device: device, training: false)
        #expect(inference.stdout.contains("memory plan on cpu"))
        #expect(inference.stdout.contains("rnn.l0.gi") && inference.stdout.contains("shares rnn.gi"), "\(inference.stdout)")
        #expect(inference.stdout.contains("(\(lean.slots.count) buffers)"), "\(inference.stdout)")
    }

    @Test("recur plan refuses a command line that names no model, or a checkpoint with model flags, in one line")
    func planRefusals() throws {
        let none = try RecurProcess.run(["plan", "--device", "cpu"])
        #expect(none.status == 64 && none.stderr.contains("give the model's flags (--task ...) or --checkpoint RUN"), "\(none.stderr)")
        let both = try RecurProcess.run(["plan", "--checkpoint", "x", "--hidden", "8"])
        #expect(both.status == 64 && both.stderr.contains("--checkpoint fixes the model; drop --hidden"), "\(both.stderr)")
        let bad = try RecurProcess.run(["plan", "--task", "memory", "--hidden", "0", "--device", "cpu"])
        #expect(bad.status != 0 && bad.stderr.contains("--hidden must be positive, got 0"), "\(bad.stderr)")
        let out = try RecurProcess.run(["plan", "--task", "memory", "--out", Scratch.path("planout"), "--device", "cpu"])
        #expect(out.status == 1 && out.stderr.contains("--resume and --out are for recur train"), "\(out.stderr)")
    }
}
