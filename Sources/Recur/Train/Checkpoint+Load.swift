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

    /// The file's tensors and metadata; nil when it does not exist.
    static func read(_ url: URL) throws -> ([String: Safetensors.Tensor], [String: String])? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw LoadError(description: "\(shownPath(url.path)): cannot read: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var s = stat()
        guard fstat(fd, &s) == 0, s.st_mode & S_IFMT != S_IFDIR else { throw LoadError(description: "\(shownPath(url.path)): is a folder, not a safetensors file") }
        let data: Data
        do { data = try handle.readToEnd() ?? Data() } catch {
            throw LoadError(description: "\(shownPath(url.path)): cannot read: \(systemReason(error))")
        }
        do { return try Safetensors.decode(data) } catch { throw LoadError(description: "\(shownPath(url.path)): \(error)") }
    }
}
