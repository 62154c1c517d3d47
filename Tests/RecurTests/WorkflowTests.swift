import Foundation
import Recur
import Testing

/// The `recur` workflow end to end: train --json, resume through the CLI, eval and generate.
@Suite struct WorkflowTests {
    static let text: String = {
        let path = Scratch.path("corpus") + ".txt"
        try? String(repeating: "to be or not to be, that is the question. ", count: 60).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static let small = ["--task", "charlm", "--data", text, "--hidden", "16", "--embedding", "8", "--layers", "2", "--dropout", "0.1",
                        "--batch", "4", "--seq", "8", "--eval-every", "3", "--log-every", "1", "--schedule", "cosine", "--device", "cpu"]

    @Test("train --json ends with a summary; --resume continues to the same bytes as an uninterrupted run")
    func trainJSONAndResume() throws {
        let straight = Scratch.path("straight"), split = Scratch.path("split")
        let a = try RecurProcess.run(["train"] + Self.small + ["--steps", "6", "--out", straight, "--json"])
        #expect(a.status == 0, "\(a.stderr)")
        let last = try #require(a.stdout.split(separator: "\n").last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in ["task", "device", "steps", "trainLoss", "valLoss", "tokensPerSecond", "checkpoint"] { #expect(summary[key] != nil, "missing \(key)") }
        #expect(summary["steps"] as? Int == 6 && summary["task"] as? String == "charlm")
        #expect(FileManager.default.fileExists(atPath: straight + "/loss.svg"))
        #expect(FileManager.default.fileExists(atPath: straight + "/metrics.jsonl"))

        // Interrupted after step 3 (as SIGINT would: finish the step, checkpoint, exit 0), then resumed to 6.
        let first = try RecurProcess.run(["train"] + Self.small + ["--steps", "6", "--out", split, "--stop-after", "3"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: split + "/checkpoint") == "checkpoint-3")
        let resumed = try RecurProcess.run(["train"] + Self.small + ["--steps", "6", "--resume", split])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: split + "/checkpoint") == "checkpoint-6")
        #expect(resumed.stderr.contains("at step 3"), "\(resumed.stderr)")
        for f in ["model.safetensors", "trainer.safetensors"] {
            #expect(FileManager.default.contents(atPath: straight + "/checkpoint/" + f) == FileManager.default.contents(atPath: split + "/checkpoint/" + f), "\(f) differs")
        }

        let e = try RecurProcess.run(["eval", "--checkpoint", straight + "/checkpoint", "--data", Self.text, "--device", "cpu", "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("bitsPerCharacter"))
        let g1 = try RecurProcess.run(["generate", "--checkpoint", straight + "/checkpoint/model.safetensors", "--prompt", "to be", "--length", "30", "--seed", "5", "--device", "cpu"])
        let g2 = try RecurProcess.run(["generate", "--checkpoint", straight + "/checkpoint", "--prompt", "to be", "--length", "30", "--seed", "5", "--device", "opencl"])
        let g3 = try RecurProcess.run(["generate", "--checkpoint", straight, "--prompt", "to be", "--length", "30", "--seed", "5", "--device", "cpu"])   // the --out folder
        #expect(g3.status == 0 && g3.stdout == g1.stdout, "\(g3.stderr)")
        #expect(g1.status == 0 && g2.status == 0, "\(g1.stderr) \(g2.stderr)")
        #expect(g1.stdout.hasPrefix("to be") && g1.stdout.count >= 36)
        #expect(g1.stdout == g2.stdout, "CPU and OpenCL sampled different text")
    }
}

@Suite struct DemoTests {
    @Test("recur demo trains both cells, prints accuracy by distance, confirms identical bits and writes the chart")
    func demoRuns() throws {
        let out = Scratch.path("demo")
        let r = try RecurProcess.run(["demo", "--steps", "10", "--max-distance", "5", "--hidden", "8", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("parameters identical"), "\(r.stdout)")
        #expect(r.stdout.contains("distance      RNN     LSTM"))
        #expect(r.stdout.contains("       5 "))
        let svg = try String(contentsOfFile: out + "/memory-accuracy.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("LSTM") && svg.contains("chance"))
    }
}
