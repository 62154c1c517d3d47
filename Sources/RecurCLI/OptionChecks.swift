import ArgumentParser
import Foundation
import Recur

/// Parse-time checks of option values, for the commands' `validate()`: each failure is a
/// `ValidationError` naming the flag and the value, so a bad flag ends `recur` before any work.
/// `makeFolder` and `write` act on the paths those checks passed, failing in one line naming the flag.
enum Check {
    static func positive(_ value: Int, _ flag: String) throws {
        if value < 1 { throw ValidationError("\(flag) must be positive, got \(value)") }
    }

    static func range(_ value: Int, _ allowed: ClosedRange<Int>, _ flag: String) throws {
        if !allowed.contains(value) { throw ValidationError("\(flag) must be in \(allowed.lowerBound)...\(allowed.upperBound), got \(value)") }
    }

    /// A finite float for which `ok` holds; `expected` says what is allowed ("in [0, 1)").
    static func finite(_ value: Float, _ flag: String, _ expected: String, _ ok: (Float) -> Bool = { _ in true }) throws {
        if !value.isFinite || !ok(value) { throw ValidationError("\(flag) must be \(expected), got \(value)") }
    }

    static func oneOf(_ value: String, _ choices: [String], _ flag: String) throws {
        if !choices.contains(value) { throw ValidationError("\(flag) must be \(Self.list(choices)), got '\(value)'") }
    }

    /// A folder a command writes into: refused now if it is a file or a link to nothing.
    static func folder(_ path: String, _ flag: String) throws {
        if path.isEmpty { throw ValidationError("\(flag): the path is empty") }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { throw ValidationError("\(flag) \(shownPath(path)): is a file, not a folder") }
        } else if let target = try? fm.destinationOfSymbolicLink(atPath: path) {
            throw ValidationError("\(flag) \(shownPath(path)): is a symbolic link to \(shownPath(target)), which does not exist")
        }
    }

    /// "a, b or c".
    static func list(_ choices: [String]) -> String {
        choices.count < 2 ? choices.joined() : choices.dropLast().joined(separator: ", ") + " or " + choices.last!
    }

    /// A file a command writes at its end (`UserFile.write`): refused now if it (or a link's target)
    /// is not a regular file or its folder is missing or not writable, so the results are not lost
    /// after the work.
    static func writableFile(_ path: String, _ flag: String) throws {
        do { try UserFile.check(path) } catch { throw ValidationError("\(flag) \(shownPath(path)): \(error)") }
    }

    /// Creates the output folder `path` (and its parents) where it is missing; called before any
    /// work, so a folder that cannot be made or written fails first, in one line.
    static func makeFolder(_ path: String, _ flag: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw Failure("\(flag) \(shownPath(path)): is a file, not a folder") }
        } else {
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw Failure("\(flag) \(shownPath(path)): cannot create the folder (\(systemReason(error)))")
            }
        }
        guard access(path, W_OK) == 0 else { throw Failure("\(flag) \(shownPath(path)): the folder is not writable") }
    }

    /// Writes a file the user named with `flag`; a failure is one line naming the flag and path.
    static func write(_ text: String, to path: String, _ flag: String) throws {
        do { try UserFile.write(text, to: path) } catch { throw Failure("\(flag) \(shownPath(path)): cannot write (\(error))") }
    }

    /// Runs a library check (ModelConfig.validate, OptimizerConfig.validate, ...) at parse time.
    static func parseTime(_ body: () throws -> Void) throws {
        do { try body() } catch let e as ValidationError { throw e } catch { throw ValidationError("\(error)") }
    }
}
