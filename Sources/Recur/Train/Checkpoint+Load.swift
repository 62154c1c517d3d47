import Foundation

extension Checkpoint {
    /// Loads a checkpoint with its trainer state from a checkpoint folder, the `checkpoint` link, a
    /// training run's `--out` folder (through its `checkpoint` link), or a `model.safetensors` file
    /// (then without trainer state). Verifies both files' checksums and that they belong together,
    /// and validates every metadata field; every failure names the file, the key and the problem.
    public static func load(_ path: String) throws -> Checkpoint { try load(path, trainerState: true) }

    /// Loads only the model file (for evaluation and generation), checked as `load` checks it.
    public static func loadModel(_ path: String) throws -> Checkpoint { try load(path, trainerState: false) }

    /// A file that disappeared while being read: the folder a link pointed at was removed.
    struct Vanished: Error { let error: LoadError }

    static func load(_ path: String, trainerState: Bool) throws -> Checkpoint {
        // Links are resolved once, to the concrete checkpoint folder, and both files are read from it.
        // A writer may move the link on and remove that folder meanwhile; then the link is followed again.
        var (folder, modelName) = try locate(path)
        for _ in 0..<100 {
            do {
                var c = try read(folder: folder, modelName: modelName, trainerState: trainerState)
                try c.validate()
                c.modelFile = folder.appendingPathComponent(modelName).path
                return c
            } catch let e as Vanished {
                guard let now = try? locate(path), now.folder != folder else { throw e.error }
                (folder, modelName) = now
            }
        }
        throw LoadError(description: "\(shownPath(path)): the checkpoint kept changing while being read")
    }

    /// The concrete folder (links resolved) and the model file's name in it.
    static func locate(_ path: String) throws -> (folder: URL, modelName: String) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw LoadError(description: "--checkpoint \(shownPath(path)): no such file or folder") }
        func real(_ p: String) throws -> URL {
            // A writer may remove the folder a link named between reading the link and the folder: read it again.
            var failure: Int32 = 0
            for _ in 0..<100 {
                if let r = OutputFolder.realPath(p) { return URL(fileURLWithPath: r) }
                failure = errno
                guard failure == ENOENT, (try? fm.destinationOfSymbolicLink(atPath: p)) != nil else { break }
            }
            throw LoadError(description: "\(p): cannot resolve: \(String(cString: strerror(failure)))")
        }
        guard isDir.boolValue else {
            let file = try real(path)
            return (file.deletingLastPathComponent(), file.lastPathComponent)
        }
        let run = path + "/checkpoint"   // a run's --out folder
        let isRun = (try? fm.destinationOfSymbolicLink(atPath: run)) != nil || fm.fileExists(atPath: run)
        if !fm.fileExists(atPath: path + "/model.safetensors") {
            if isRun { return (try real(run), "model.safetensors") }
            throw LoadError(description: "--checkpoint \(shownPath(path)): no checkpoint in this folder (neither model.safetensors nor a run's checkpoint link; a run saves at its first evaluation)")
        }
        return (try real(path), "model.safetensors")
    }

    /// Reads and checks the files of one folder; `Vanished` when a file was removed under the reader.
    static func read(folder: URL, modelName: String, trainerState: Bool) throws -> Checkpoint {
        let modelURL = folder.appendingPathComponent(modelName)
        guard let (tensors, meta) = try read(modelURL) else { throw Vanished(error: LoadError(description: "\(shownPath(modelURL.path)): no such file")) }
        try verify(tensors, meta, file: modelURL.path, recurOnly: false)
        var c = Checkpoint(model: tensors, modelMetadata: meta)
        c.modelFile = modelURL.path
        guard trainerState else { return c }
        let trainerURL = folder.appendingPathComponent("trainer.safetensors")
        guard let (t, tm) = try read(trainerURL) else {
            // Clean-up removes the model file first, so a model file still present means the folder never had a trainer file.
            if FileManager.default.fileExists(atPath: modelURL.path) { return c }
            throw Vanished(error: LoadError(description: "\(shownPath(trainerURL.path)): no such file"))
        }
        try verify(t, tm, file: trainerURL.path, recurOnly: true)
        guard let owner = tm["recur.model_checksum"], owner == meta["recur.checksum"] else {
            throw LoadError(description: "\(shownPath(trainerURL.path)): recur.model_checksum: the file does not belong to \(modelURL.lastPathComponent) (it was written with another model file)")
        }
        c.trainer = t
        c.trainerMetadata = tm
        c.trainerFile = trainerURL.path
        return c
    }

    /// The file's tensors and metadata; nil when it does not exist. Only a regular file is read (a
    /// FIFO or a device is refused without blocking), and only as far as its header says: a header
    /// or tensor data that does not fit the file is refused before the data is read.
    static func read(_ url: URL) throws -> ([String: Safetensors.Tensor], [String: String])? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw LoadError(description: "\(shownPath(url.path)): cannot read: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var s = stat()
        guard fstat(fd, &s) == 0 else { throw LoadError(description: "\(shownPath(url.path)): cannot read: \(String(cString: strerror(errno)))") }
        guard s.st_mode & S_IFMT == S_IFREG else {
            throw LoadError(description: "\(shownPath(url.path)): is \(UserFile.kind(s.st_mode) ?? "not a regular file"), not a safetensors file")
        }
        let size = Int(s.st_size)
        func bytes(_ count: Int) throws -> Data {
            do {
                let d = try handle.read(upToCount: count) ?? Data()
                guard d.count == count else { throw LoadError(description: "\(shownPath(url.path)): the file shrank while being read") }
                return d
            } catch let e as LoadError { throw e } catch {
                throw LoadError(description: "\(shownPath(url.path)): cannot read: \(systemReason(error))")
            }
        }
        do {
            let head = try bytes(min(8, size))
            guard head.count == 8 else { return try Safetensors.decode(head) }   // too short: decode says so
            let n = head.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard n <= UInt64(size - 8) else {
                throw Safetensors.FormatError("header length \(n) is larger than the file (\(size) bytes): truncated or not safetensors")
            }
            guard n <= Safetensors.maxHeaderBytes else {
                throw Safetensors.FormatError("header length \(n) is more than \(Safetensors.maxHeaderBytes) bytes: not a checkpoint")
            }
            let header = try bytes(Int(n))
            let end = Safetensors.dataEnd(header)   // nil: not JSON; decode says so
            guard (end ?? 0) <= size - 8 - Int(n) else {
                throw Safetensors.FormatError("tensor data ends \(end!) bytes after the header, past the file's end (\(size - 8 - Int(n)) data bytes): truncated")
            }
            return try Safetensors.decode(head + header + (try bytes(end ?? 0)))
        } catch let e as LoadError { throw e } catch { throw LoadError(description: "\(shownPath(url.path)): \(error)") }
    }
}
