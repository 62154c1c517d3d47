import Foundation
import Recur
import Testing

/// Devices shared by the tests. The OpenCL device is required: a machine without one fails the
/// OpenCL tests (CI installs PoCL; see .ci/run), it never skips them.
enum TestDevices {
    static let cpu = Device.cpu()
    static let cpuOneThread = Device.cpu(threads: 1)
    static let cpuThreeThreads = Device.cpu(threads: 3)

    static let openCLResult: Result<Device, any Error> = Result {
        let (device, _) = try Devices.select("opencl")
        return device
    }

    /// The first admitted OpenCL device, or a recorded failure saying why there is none.
    static func openCL(sourceLocation: SourceLocation = #_sourceLocation) -> Device? {
        switch openCLResult {
        case .success(let d): return d
        case .failure(let e):
            Issue.record("no admitted OpenCL device (install pocl-opencl-icd, see README): \(e)", sourceLocation: sourceLocation)
            return nil
        }
    }
}

/// Repository paths, found from this file's location.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var kernels: URL { root.appendingPathComponent("Kernels") }
}

/// Bits of a float array, for exact comparisons.
func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

/// Files and folders the tests write: all under one folder of the temporary directory per test
/// process, removed when the process exits (a run leaves nothing behind but after a crash).
enum Scratch {
    static let root: URL = {
        let u = folderOfProcess()
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.folderOfProcess()) }
        return u
    }()

    static func folderOfProcess() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("recur-tests-\(getpid())") }

    /// A path no other test uses (not created), named for `name`.
    static func path(_ name: String) -> String { root.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))").path }

    /// A new empty folder, named for `name`.
    static func folder(_ name: String) throws -> URL {
        let u = URL(fileURLWithPath: path(name))
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}
