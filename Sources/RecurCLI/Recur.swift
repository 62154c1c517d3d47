import ArgumentParser
import Foundation
import Recur

@main
struct RecurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Train sequence models with identical bits on CPU and GPU (OpenCL).",
        subcommands: [DemoCommand.self, TrainCommand.self, EvalCommand.self, GenerateCommand.self, PlanCommand.self, DevicesCommand.self, VerifyCommand.self, BenchCommand.self, TuneCommand.self]
    )

    /// ArgumentParser's main with two changes: a bad flag is one line on stderr (`recur: error: ...`,
    /// exit 64) instead of the message and the usage, and help is written through `Output`, so a
    /// closed standard output fails with a message there too.
    static func main() {
        Output.prepare()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error), message = self.message(for: error)
            if error is ExitCode {
                // the command has said what went wrong
            } else if code.isSuccess {
                do { try Output.write(message.hasSuffix("\n") ? message : message + "\n") } catch {
                    Console.note("error: \(error)")
                    Foundation.exit(1)
                }
            } else if message.isEmpty {
                Output.error(fullMessage(for: error) + "\n")   // no arguments at all: the usage
            } else {
                Console.note("error: " + message.split(whereSeparator: \.isNewline).joined(separator: "; "))
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// `--device` and `--threads`, shared by every command that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "auto, cpu, opencl or opencl:N (default: $RECUR_DEVICE, else auto).")
    var device: String?

    @Option(name: .long, parsing: .unconditional, help: "CPU worker threads, 1...\(Self.maxThreads) (default: every core; not for an OpenCL device).")
    var threads: Int?

    /// A fixed bound rather than a multiple of this machine's cores, so a command line valid on one
    /// machine is valid on every machine; more threads than cores is allowed (slower, same bits).
    static let maxThreads = 1024

    /// The device request's form (from --device or RECUR_DEVICE) and every RECUR_* setting.
    func validate() throws {
        if let threads { try Check.range(threads, 1...Self.maxThreads, "--threads") }
        try Check.parseTime {
            try DeviceRequest.from(flag: device).checkForm()
            try Settings.checkEnvironment()
        }
    }

    /// For commands that run only the chosen device: `--threads` with another device than the CPU is
    /// refused (only the CPU device has worker threads). `bench` runs the CPU device beside it and keeps it.
    func refuseThreadsOffCPU() throws {
        let request = DeviceRequest.from(flag: device)
        if threads != nil, let family = request.family, family.prefix != "cpu" {
            throw ValidationError("--threads is for the CPU device, not \(request.label)")
        }
    }

    /// The chosen device; the reason goes to stderr in one line.
    func open() throws -> Device {
        do {
            let (d, note) = try Devices.preferred(device, threads: threads)
            Console.note(note)
            return d
        } catch {
            throw Failure("\(error)")
        }
    }
}

/// A one-line error for the user; exits with status 1.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum Console {
    static func note(_ line: String) { Output.error("recur: \(line)\n") }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // A value not yet measured (a run stopped before its first step or evaluation) is NaN.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension ParsableCommand {
    /// Runs `body`, turning any error into `recur: error: ...` and exit status 1.
    func guarded(_ body: () throws -> Void) throws {
        // A file-size limit (or a full quota) must surface as a failed write with a message,
        // not as SIGXFSZ killing the process mid-save.
        signal(SIGXFSZ, SIG_IGN)
        do { try body() } catch let e as ExitCode { throw e } catch {
            Console.note("error: \(error)")
            throw ExitCode(1)
        }
    }
}
