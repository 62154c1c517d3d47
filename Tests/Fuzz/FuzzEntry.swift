import Foundation
import Recur

/// One fuzz input through the checkpoint reader, checkpoint metadata, the tuning table and the data
/// parsers; the first byte picks which.
/// Errors are the expected outcome for most inputs; a crash, trap or hang is a finding.
///
/// Fuzzing (libFuzzer; see docs/RELIABILITY.md):
///   swift build --product recur-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DRECUR_FUZZING
///   .build/debug/recur-fuzz -max_total_time=60 Tests/Fuzz/corpus
/// Without those flags this is a replayer: `recur-fuzz FILE...` runs each file once.
enum FuzzTarget {
    /// The folder inputs are written to, removed when the process exits.
    static let scratch: String = {
        let dir = folderOfProcess()
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzTarget.folderOfProcess()) }
        return dir
    }()

    /// The tuning table's path: the program cache is moved into the scratch folder first.
    static let tuningFile: String = {
        setenv("XDG_CACHE_HOME", scratch + "/cache", 1)
        unsetenv("RECUR_NO_CACHE")
        try? FileManager.default.createDirectory(atPath: scratch + "/cache/recur", withIntermediateDirectories: true)
        return scratch + "/cache/recur/tuning.json"
    }()

    /// A device whose entry the table may hold (the corpus has one under its key).
    static let cpuInfo = Device.cpu(threads: 1).info

    static func folderOfProcess() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("recur-fuzz-\(getpid())").path }

    static func run(_ input: Data) {
        guard let selector = input.first else { return }
        let body = input.dropFirst()
        let file = scratch + "/input"
        switch selector % 8 {
        case 0:   // a checkpoint: model.safetensors in a folder, then its config
            let dir = scratch + "/ckpt"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: dir + "/trainer.safetensors")
            guard (try? body.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))) != nil else { return }
            if let c = try? Checkpoint.load(dir), let config = try? c.config { _ = try? config.validate() }
        case 1:   // safetensors bytes decoded directly (no checksum gate)
            _ = try? Safetensors.decode(Data(body))
        case 2:   // a model config as JSON
            if let config = try? JSONDecoder().decode(ModelConfig.self, from: Data(body)) { _ = try? config.validate() }
        case 3:   // text for the character model
            guard (try? body.write(to: URL(fileURLWithPath: file))) != nil else { return }
            _ = try? CharLMTask(path: file, seed: 1)
        case 4:   // TSV for the classifier
            guard (try? body.write(to: URL(fileURLWithPath: file))) != nil else { return }
            _ = try? ClassifyTask(trainPath: file, testPath: nil, seed: 1)
        case 6:   // checkpoint metadata as a JSON object of strings, in a model file of its own
            guard let meta = try? JSONDecoder().decode([String: String].self, from: Data(body)) else { return }
            let dir = scratch + "/meta"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            guard (try? Safetensors.encode([], metadata: meta).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))) != nil else { return }
            if let c = try? Checkpoint.loadModel(dir) {
                _ = try? c.config; _ = try? c.data; _ = try? c.seed; _ = try? c.trainerState
            }
        case 7:   // the tuning table, read as a device opening reads it and as `recur devices` lists it
            guard (try? body.write(to: URL(fileURLWithPath: tuningFile))) != nil else { return }
            _ = TuningCache.problems()
            _ = try? TuningCache.entry(for: cpuInfo)
        default:  // CSV for forecasting, with and without gap filling
            guard (try? body.write(to: URL(fileURLWithPath: file))) != nil else { return }
            _ = try? ForecastTask(path: file, column: "value", seed: 1, fill: nil, season: 4)
            _ = try? ForecastTask(path: file, column: "value", seed: 1, fill: "linear", season: 4)
        }
    }
}

#if RECUR_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.run(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

public typealias FuzzArgv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<FuzzArgv?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// SwiftPM links an executable's entry point as `<module>_main`; here it hands over to libFuzzer.
@_cdecl("recur_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: FuzzArgv?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, fuzzOne)
}
#else
@main
struct Replay {
    static func main() {
        var files: [String] = []
        for arg in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: arg, isDirectory: &isDir) else {
                FileHandle.standardError.write(Data("recur-fuzz: \(arg): no such file or folder\n".utf8))
                exit(1)
            }
            files += isDir.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: arg)) ?? []).sorted().map { arg + "/" + $0 } : [arg]
        }
        for f in files { FuzzTarget.run(FileManager.default.contents(atPath: f) ?? Data()) }
        print("recur-fuzz: replayed \(files.count) inputs without a crash")
    }
}
#endif
