import Foundation
import Recur
#if canImport(Glibc)
import Glibc
#endif

/// Standard output and error, written with write(2).
///
/// Contract: every write to standard output is checked; a closed descriptor, a closed pipe (EPIPE:
/// SIGPIPE is ignored, so the writer gets an error instead of dying by signal) or a full disk
/// (ENOSPC) throws a `Failure` naming standard output and the reason, and the command exits 1.
/// Standard error is best effort: when it cannot be written there is nowhere left to say so, and
/// the exit status still tells.
enum Output {
    /// Standard output was closed when `recur` started (its descriptor now holds /dev/null).
    nonisolated(unsafe) private static var stdoutClosed = false

    /// Call before anything opens a file. A descriptor 0, 1 or 2 that the parent closed is taken by
    /// /dev/null, so no file opened later (a checkpoint, metrics.jsonl) can become standard output.
    static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0 && null != fd { dup2(null, fd); close(null) }
            if fd == 1 { stdoutClosed = true }
        }
    }

    /// Writes `text` to standard output; throws when it cannot be written in full.
    static func write(_ text: String) throws {
        if stdoutClosed { throw Failure("cannot write to standard output: it is closed") }
        if let reason = writeAll(1, text) { throw Failure("cannot write to standard output: \(reason)") }
    }

    /// `text` and a newline to standard output.
    static func line(_ text: String) throws { try write(text + "\n") }

    /// `text` to standard error; a failure is ignored (see the type's contract).
    static func error(_ text: String) { _ = writeAll(2, text) }

    /// nil when every byte was written, else the reason (strerror).
    private static func writeAll(_ fd: Int32, _ text: String) -> String? {
        writeFully(fd, Array(text.utf8)).map { String(cString: strerror($0)) }
    }
}
