import Foundation

extension Checkpoint {
    /// Writes the checkpoint as `checkpoint-<step>` in the held folder and points its `checkpoint` link
    /// at it: a temporary folder is written and fsynced, its name recorded in the folder's manifest,
    /// the folder renamed into place, then the link swapped by rename. A kill at any moment leaves
    /// `checkpoint` pointing at a complete pair. The checkpoint folders Recur wrote before are then
    /// removed (see `OutputFolder`).
    @discardableResult
    func save(in folder: OutputFolder, step: Int) throws -> URL {
        let fm = FileManager.default, out = folder.url
        // Never replace the folder the link may point at, nor anything else: a taken name gets a suffix.
        var name = "checkpoint-\(step)"
        var n = 1
        while OutputFolder.fileType(out.appendingPathComponent(name).path) != nil {
            name = "checkpoint-\(step).\(n)"
            n += 1
        }
        let final = out.appendingPathComponent(name)
        let tmp = out.appendingPathComponent(".\(name).tmp-\(getpid())")
        OutputFolder.removeCheckpointFolder(tmp.path)
        do {
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            try Self.writeSynced(Safetensors.encode(model.keys.sorted().map { ($0, model[$0]!) }, metadata: modelMetadata),
                                 to: tmp.appendingPathComponent("model.safetensors"))
            try Self.writeSynced(Safetensors.encode(trainer.keys.sorted().map { ($0, trainer[$0]!) }, metadata: trainerMetadata),
                                 to: tmp.appendingPathComponent("trainer.safetensors"))
            Self.syncDirectory(tmp)
            try folder.record(name)
            try Self.posix(rename(tmp.path, final.path), "rename \(tmp.lastPathComponent) to \(name)")
            let link = out.appendingPathComponent(".checkpoint.link-\(getpid())")
            unlink(link.path)
            try Self.posix(symlink(name, link.path), "symlink \(link.lastPathComponent)")
            try Self.posix(rename(link.path, out.appendingPathComponent("checkpoint").path), "rename the checkpoint link")
            Self.syncDirectory(out)
        } catch {
            OutputFolder.removeCheckpointFolder(tmp.path)
            let previous = (try? fm.destinationOfSymbolicLink(atPath: out.appendingPathComponent("checkpoint").path))
                .map { "the previous checkpoint (\($0)) is unchanged and valid" } ?? "no earlier checkpoint exists"
            throw LoadError(description: "could not save checkpoint in \(shownPath(out.path)): \(error); \(previous)")
        }
        folder.prune(keeping: name)
        return final
    }

    static func posix(_ rc: Int32, _ what: String) throws {
        if rc != 0 { throw LoadError(description: "\(what): \(String(cString: strerror(errno)))") }
    }

    static func writeSynced(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LoadError(description: "cannot create \(url.lastPathComponent): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        try data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                guard n > 0 else { throw LoadError(description: "writing \(url.lastPathComponent): \(String(cString: strerror(errno)))") }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw LoadError(description: "fsync \(url.lastPathComponent): \(String(cString: strerror(errno)))") }
    }

    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
