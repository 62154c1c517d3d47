import Foundation

/// A training run's output folder, held for writing by one run at a time.
///
/// Taking it locks `.lock` in the folder with `flock(LOCK_EX | LOCK_NB)` and writes the holder's pid
/// into it: a second writer, in this process or another, is refused at once (`Busy`, naming the
/// holder). The kernel drops the lock when the holder exits or is killed, so no run ever leaves the
/// folder locked. The lock file itself stays: removing it would let two runs lock two different files
/// of the same name.
///
/// Recur removes only what it wrote here. `.recur-checkpoints` lists the checkpoint folders Recur
/// created in this folder (a name is recorded before its folder appears); clean-up removes only
/// listed folders that are named `checkpoint-<digits>` or `checkpoint-<digits>.<digits>`, are real
/// folders (not links) and hold nothing but Recur's two files. Anything else, whatever its name, is
/// left alone. Taking the folder also removes the temporaries of saves a killed run left behind
/// (`.checkpoint-<step>.tmp-<pid>`, `.checkpoint.link-<pid>`, `.recur-checkpoints.tmp-<pid>`): with the
/// lock held no other save can be in flight, so they are stale.
public final class OutputFolder: @unchecked Sendable {
    /// The folder.
    public let url: URL
    /// The open, locked `.lock`; closing it releases the lock.
    private let lockDescriptor: Int32

    /// The lock file's name.
    public static let lockName = ".lock"
    /// The list of checkpoint folders Recur wrote in the folder.
    public static let manifestName = ".recur-checkpoints"
    /// The files a Recur checkpoint folder holds.
    static let checkpointFiles: Set<String> = ["model.safetensors", "trainer.safetensors"]

    /// Another run holds the folder.
    public struct Busy: Error, CustomStringConvertible {
        /// The folder.
        public let folder: String
        /// The holder's process id, when it could be read.
        public let holder: Int32?
        /// One line naming the folder and the holder.
        public var description: String {
            "\(shownPath(folder)): another training run (pid \(holder.map(String.init) ?? "unknown")) is writing to this folder"
        }
    }

    /// Takes `url` for writing (creating it if missing): locks it, then removes stale temporaries.
    /// Throws `Busy` when another run holds it, `Checkpoint.LoadError` when it cannot be created or locked.
    public init(_ url: URL) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw Checkpoint.LoadError(description: "\(shownPath(url.path)): is a file, not a folder") }
        } else if let target = try? fm.destinationOfSymbolicLink(atPath: url.path) {
            throw Checkpoint.LoadError(description: "\(shownPath(url.path)): is a symbolic link to \(shownPath(target)), which does not exist")
        }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw Checkpoint.LoadError(description: "\(shownPath(url.path)): cannot create the folder (\(systemReason(error)))")
        }
        let lockPath = url.appendingPathComponent(Self.lockName).path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Checkpoint.LoadError(description: "\(shownPath(lockPath)): cannot open the lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            if busy { throw Busy(folder: url.path, holder: Self.holder(lockPath)) }
            throw Checkpoint.LoadError(description: "\(shownPath(lockPath)): cannot lock: \(reason)")
        }
        lockDescriptor = fd
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.url = url
        removeStaleTemporaries()
    }

    deinit { close(lockDescriptor) }

    /// The pid the holder wrote; it writes it right after locking, so an empty file is retried briefly.
    static func holder(_ lockPath: String) -> Int32? {
        for _ in 0..<20 {
            if let text = try? String(contentsOfFile: lockPath, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
            usleep(5_000)
        }
        return nil
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// `checkpoint-<digits>` or `checkpoint-<digits>.<digits>`: the names Recur gives checkpoint folders.
    static func isCheckpointName(_ name: String) -> Bool {
        guard name.hasPrefix("checkpoint-") else { return false }
        let parts = name.dropFirst("checkpoint-".count).split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// `<stem><digits>`, the pid-suffixed temporaries of a save.
    static func hasPidSuffix(_ name: String, after stem: String) -> Bool {
        guard name.hasPrefix(stem) else { return false }
        let pid = name.dropFirst(stem.count)
        return !pid.isEmpty && pid.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// `.checkpoint-<step>.tmp-<pid>`: a save's folder before its rename.
    static func isTemporaryCheckpoint(_ name: String) -> Bool {
        guard name.hasPrefix(".") else { return false }
        let parts = name.dropFirst().components(separatedBy: ".tmp-")
        return parts.count == 2 && isCheckpointName(parts[0]) && hasPidSuffix(parts[1], after: "")
    }

    /// The file type of `path` itself (a link is a link), or nil when it does not exist.
    static func fileType(_ path: String) -> mode_t? {
        var s = stat()
        guard lstat(path, &s) == 0 else { return nil }
        return s.st_mode & S_IFMT
    }

    /// Removes a checkpoint folder (or temporary) only if it is a real folder holding nothing but
    /// Recur's files; returns false, touching nothing, otherwise.
    @discardableResult
    static func removeCheckpointFolder(_ path: String) -> Bool {
        guard fileType(path) == S_IFDIR, let entries = try? FileManager.default.contentsOfDirectory(atPath: path),
              Set(entries).isSubset(of: checkpointFiles) else { return false }
        // The model file goes first: a reader that still finds it knows a missing trainer file was never there.
        for e in entries.filter({ $0 == "model.safetensors" }) + entries.filter({ $0 != "model.safetensors" }) { unlink(path + "/" + e) }
        return rmdir(path) == 0
    }

    func removeStaleTemporaries() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
            let path = url.appendingPathComponent(name).path
            if Self.isTemporaryCheckpoint(name) {
                Self.removeCheckpointFolder(path)
            } else if Self.hasPidSuffix(name, after: ".checkpoint.link-") {
                if Self.fileType(path) == S_IFLNK { unlink(path) }
            } else if Self.hasPidSuffix(name, after: Self.manifestName + ".tmp-") {
                if Self.fileType(path) == S_IFREG { unlink(path) }
            }
        }
    }

    /// The checkpoint folder names Recur recorded here (only well-formed names count).
    func recorded() -> [String] {
        let text = (try? String(contentsOf: url.appendingPathComponent(Self.manifestName), encoding: .utf8)) ?? ""
        var seen = Set<String>()
        return text.split(separator: "\n").map(String.init).filter { Self.isCheckpointName($0) && seen.insert($0).inserted }
    }

    /// Replaces the manifest atomically (temporary file, fsync, rename).
    func writeManifest(_ names: [String]) throws {
        let final = url.appendingPathComponent(Self.manifestName)
        let tmp = url.appendingPathComponent("\(Self.manifestName).tmp-\(getpid())")
        try Checkpoint.writeSynced(Data(names.map { $0 + "\n" }.joined().utf8), to: tmp)
        guard rename(tmp.path, final.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw Checkpoint.LoadError(description: "rename \(tmp.lastPathComponent) to \(Self.manifestName): \(reason)")
        }
    }

    /// Records `name` as a checkpoint folder Recur is about to create.
    func record(_ name: String) throws {
        let names = recorded()
        if !names.contains(name) { try writeManifest(names + [name]) }
    }

    /// Removes every recorded checkpoint folder but `keep`; folders that are gone, or that hold
    /// anything besides Recur's files (kept, no longer Recur's), leave the list.
    func prune(keeping keep: String) {
        let names = recorded()
        for name in names where name != keep {
            let path = url.appendingPathComponent(name).path
            if Self.fileType(path) != nil { Self.removeCheckpointFolder(path) }
        }
        if names != [keep] { try? writeManifest([keep]) }
    }
}
