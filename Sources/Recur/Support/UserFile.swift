import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files Recur writes at a path the user names (`--json`, `--plot`, loss.svg, the demo's chart).
///
/// Contract: a symbolic link is written through (its target is replaced, the link stays); the
/// target is replaced atomically (a temporary file in the target's folder, fsync, rename), so a
/// reader sees the old file or the new one; a target that exists and is not a regular file (a
/// FIFO, a device, a socket, a folder) is refused, never replaced or opened; a failed write
/// (ENOSPC, EFBIG) is reported with the system's reason and leaves the target as it was.
public enum UserFile {
    /// Why a user's file cannot be written; `reason` is one line without the path.
    public struct Problem: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The path a write to `path` lands on: `path` with every symbolic link followed (relative
    /// targets against the link's folder); the last target need not exist.
    public static func target(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var s = stat()
            guard lstat(current, &s) == 0, s.st_mode & S_IFMT == S_IFLNK else { return current }
            guard let next = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else {
                throw Problem(reason: "cannot read the symbolic link \(shownPath(current))")
            }
            current = next.hasPrefix("/") ? next : folder(of: current) + "/" + next
        }
        throw Problem(reason: "too many levels of symbolic links")
    }

    /// "is a FIFO, not a regular file" when something other than a regular file is at `path`
    /// (links followed); nil for a regular file or nothing at all.
    public static func notRegular(_ path: String) -> String? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return kind(s.st_mode).map { "is \($0), not a regular file" }
    }

    /// What a file mode names when it is not a regular file.
    static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a file"
        }
    }

    /// Throws the reason a write to `path` would fail now: the target is not a regular file, or
    /// its folder is missing or not writable. Commands call it when they parse their flags.
    @discardableResult
    public static func check(_ path: String) throws -> String {
        if path.isEmpty { throw Problem(reason: "the path is empty") }
        let target = try target(path)
        if let why = notRegular(target) { throw Problem(reason: target == path ? why : "\(shownPath(target)) \(why)") }
        let folder = folder(of: target)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw Problem(reason: "the folder \(shownPath(folder)) does not exist")
        }
        if access(folder, W_OK) != 0 { throw Problem(reason: "the folder \(shownPath(folder)) is not writable") }
        return target
    }

    /// Writes `text` as UTF-8 to `path` (see the type's contract).
    public static func write(_ text: String, to path: String) throws {
        let target = try check(path)
        let temporary = folder(of: target) + "/." + (target as NSString).lastPathComponent + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o666)
        guard fd >= 0 else { throw Problem(reason: "cannot create \(shownPath(temporary)): \(String(cString: strerror(errno)))") }
        var existing = stat()
        if stat(target, &existing) == 0 { _ = fchmod(fd, existing.st_mode & 0o7777) }
        let failure = writeFully(fd, Array(text.utf8)) ?? (fsync(fd) == 0 ? nil : errno)
        let closed = close(fd) == 0 ? nil : errno
        if let code = failure ?? closed {
            unlink(temporary)
            throw Problem(reason: String(cString: strerror(code)))
        }
        // checked again: the target may have become a FIFO or a device since the flags were parsed
        if let why = notRegular(target) {
            unlink(temporary)
            throw Problem(reason: why)
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw Problem(reason: String(cString: strerror(code)))
        }
    }

    /// The folder holding `path` ("." for a bare name).
    static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}

/// Writes every byte to `fd`, retrying after EINTR and short writes; nil when all were written,
/// else errno.
public func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += n
    }
    return nil
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif
