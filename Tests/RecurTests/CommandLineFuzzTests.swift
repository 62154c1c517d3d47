import Foundation
@testable import Recur
import Testing

/// A property test over the command line: random flags with extreme, negative, non-finite, empty and
/// huge values, for a bounded time. Whatever the input, `recur` ends by itself, never by a signal or a
/// trap, and a failure is one error line; a value that no flag accepts always fails. The seed is
/// fixed (`RECUR_FUZZ_SEED` sets another), so a run is repeatable.
@Suite(.serialized) struct CommandLineFuzzTests {
    /// Values every numeric flag must refuse.
    static let bad = ["nan", "-nan", "inf", "-inf", "", " ", "abc", "1e400", "0x", "1,5", "--"]
    /// Values that may be fine for some flags and not for others.
    static let edgy = ["0", "-1", "1", "2", "-0", "0.5", "1e-45", "3.4e38", "9223372036854775807", "-9223372036854775808",
                       "2147483647", "2147483648", "4294967297", "65536", "1000000", "1e9", "1e30", "-1e30", "99999999999999999999999"]

    struct Command {
        let name: String
        let base: [(String, String)]
        let numeric: [String]
    }

    static func commands(checkpoint: String) -> [Command] {
        [
            Command(name: "train", base: [("--task", "memory"), ("--device", "cpu"), ("--hidden", "8"), ("--embedding", "4"),
                                          ("--batch", "4"), ("--steps", "2"), ("--eval-every", "1"), ("--max-distance", "3")],
                    numeric: ["--layers", "--hidden", "--embedding", "--dropout", "--forget-bias", "--batch", "--seq", "--steps",
                              "--epochs", "--lr", "--momentum", "--weight-decay", "--clip", "--warmup", "--step-size", "--gamma",
                              "--eval-every", "--log-every", "--patience", "--stop-after", "--seed", "--threads",
                              "--min-distance", "--max-distance", "--season", "--filters"]),
            Command(name: "generate", base: [("--checkpoint", checkpoint), ("--device", "cpu"), ("--length", "5")],
                    numeric: ["--length", "--temperature", "--top-k", "--seed", "--threads"]),
            Command(name: "eval", base: [("--checkpoint", checkpoint), ("--device", "cpu")], numeric: ["--threads"]),
            Command(name: "bench", base: [("--device", "cpu"), ("--shape", "8x8x8"), ("--rounds", "1"), ("--repeats", "1")],
                    numeric: ["--rounds", "--repeats", "--threads", "--batch", "--seq"]),
        ]
    }

    /// A tiny character model to evaluate and sample from.
    static func checkpoint() throws -> String {
        let dir = try Scratch.folder("fuzz-run")
        let text = dir.appendingPathComponent("text.txt").path
        try String(repeating: "abc def ghi. ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        let r = try RecurProcess.run(["train", "--task", "charlm", "--data", text, "--device", "cpu", "--hidden", "8", "--embedding", "4",
                                      "--batch", "2", "--seq", "8", "--steps", "2", "--out", dir.appendingPathComponent("run").path])
        #expect(r.status == 0, "\(r.stderr)")
        return dir.appendingPathComponent("run").path
    }

    @Test("Random extreme flags never trap, hang or pass a value no flag accepts; every failure is one line")
    func randomFlags() throws {
        let checkpoint = try Self.checkpoint()
        let seed = UInt64(ProcessInfo.processInfo.environment["RECUR_FUZZ_SEED"] ?? "") ?? 1
        var rng = SplitMix(seed)
        let deadline = Date().addingTimeInterval(60)
        var runs = 0
        while Date() < deadline && runs < 200 {
            let commands = Self.commands(checkpoint: checkpoint)
            let c = commands[Int(rng.next() % UInt64(commands.count))]
            var args = c.base
            var fuzzed: [String: Bool] = [:]   // flag: whether its value is one no flag accepts
            for _ in 0...(rng.next() % 3) {
                let flag = c.numeric[Int(rng.next() % UInt64(c.numeric.count))]
                let isBad = rng.next() % 2 == 0
                let value = isBad ? Self.bad[Int(rng.next() % UInt64(Self.bad.count))] : Self.edgy[Int(rng.next() % UInt64(Self.edgy.count))]
                fuzzed[flag] = isBad
                args.removeAll { $0.0 == flag }
                args.append((flag, value))
            }
            let anyBad = fuzzed.values.contains(true)
            let argv = [c.name] + args.flatMap { [$0.0, $0.1] } + (c.name == "train" ? ["--out", Scratch.path("fuzz-out")] : [])
            let shown = "seed \(seed), run \(runs): recur \(argv.map { $0.isEmpty || $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))"
            let r = try Self.run(argv, limit: 30)
            runs += 1
            #expect(!r.signaled, "ended by signal \(r.status): \(shown)\n\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("arithmetic overflow"), "trapped: \(shown)\n\(r.stderr)")
            if r.timedOut {
                #expect(!anyBad, "still running after 30 s on a value no flag accepts: \(shown)")
                continue
            }
            if anyBad { #expect(r.status != 0, "exit 0 on a bad value: \(shown)") }
            if r.status != 0 {
                // one error line (the argument parser adds the flag's help and the usage after its own)
                let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("recur: error: ") || $0.hasPrefix("Error: ") }
                #expect(errors.count == 1, "not one error line: \(shown)\n\(r.stderr)")
            }
        }
        #expect(runs >= 20, "only \(runs) runs in the time")
    }

    /// Runs `recur` with a time limit; `timedOut` when it was killed at the limit.
    static func run(_ args: [String], limit: TimeInterval) throws -> (status: Int32, signaled: Bool, timedOut: Bool, stderr: String) {
        let p = Process()
        p.executableURL = RecurProcess.executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: Devices.environmentVariable)
        p.environment = env
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let reader = Collected()
        let done = DispatchSemaphore(value: 0)
        Thread { reader.set(err.fileHandleForReading.readDataToEndOfFile()); done.signal() }.start()
        let deadline = Date().addingTimeInterval(limit)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        if timedOut { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        done.wait()
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal && !timedOut, timedOut, String(decoding: reader.data, as: UTF8.self))
    }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Data()
        func set(_ d: Data) { lock.withLock { value = d } }
        var data: Data { lock.withLock { value } }
    }
}

/// A small seeded generator (SplitMix64) for test inputs.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
