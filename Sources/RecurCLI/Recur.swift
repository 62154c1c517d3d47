import ArgumentParser
import Foundation
import Recur

@main
struct RecurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Train sequence models with identical bits on CPU and GPU (OpenCL).",
        subcommands: [DemoCommand.self, TrainCommand.self, EvalCommand.self, GenerateCommand.self, DevicesCommand.self, VerifyCommand.self, BenchCommand.self, TuneCommand.self]
    )
}

/// `--device` and `--threads`, shared by every command that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "auto, cpu, opencl or opencl:N (default: $RECUR_DEVICE, else auto).")
    var device: String?

    @Option(name: .long, help: "CPU worker threads (default: every core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
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
    static func note(_ line: String) { FileHandle.standardError.write(Data("recur: \(line)\n".utf8)) }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
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
