import Foundation
@testable import Recur
import Testing

/// The tuning table (tuning.json) is checked as `RECUR_TUNING` is: an entry that cannot be read is
/// an error naming the file, the entry and the field when its device opens, `--device auto` does
/// not take the CPU instead, and `recur tune` keeps every other entry as it is.
@Suite struct TuningTableTests {
    static let gpu = DeviceInfo(kind: .opencl, name: "Test GPU", vendor: "Test", driver: "1.0", version: "OpenCL 3.0", computeUnits: 8,
                                globalMemoryBytes: 1 << 30, maxAllocationBytes: 1 << 28, admitted: true, reason: "", selector: "opencl:0",
                                deviceType: "gpu", maxWorkGroupSize: 256)

    static func table(_ entries: [String: Any]) throws -> String {
        let file = try Scratch.folder("tuning").appendingPathComponent("tuning.json").path
        try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys]).write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test("Each bad value reads the same from RECUR_TUNING and from a tuning.json entry, the entry's naming the file, the entry and the field",
          arguments: [("RB_M=40", "rbM", 40, "rbM must be 1...16, got 40"), ("RB_V=0", "rbV", 0, "rbV must be 1...4, got 0"),
                      ("KB=-1", "kBlock", -1, "kBlock must be ≥ 0 (0: no k-blocks), got -1"), ("TILE=12", "tile", 12, "tile must be 4, 8, 16 or 32, got 12"),
                      ("matmul=warp", "matmul", "warp", "matmul must be one of simple, rb, tiled, got warp"),
                      ("cells=v8", "cells", "v8", "cells must be one of scalar, v16, got v8")] as [(String, String, any Sendable, String)])
    func sameChecks(_ variable: String, _ field: String, _ value: any Sendable, _ reason: String) throws {
        let base = KernelTuning.builtIn(for: Self.gpu)
        do {
            _ = try KernelTuning.parse(variable, base: base, source: "RECUR_TUNING=\(variable)")
            Issue.record("RECUR_TUNING=\(variable) accepted")
        } catch {
            let envKey = variable.split(separator: "=")[0]
            #expect("\(error)" == "RECUR_TUNING=\(variable): " + reason.replacingOccurrences(of: field, with: envKey, options: .anchored))
        }
        var entry: [String: Any] = ["matmul": "tiled"]
        entry[field] = value
        let file = try Self.table([TuningCache.key(Self.gpu): entry])
        #expect {
            _ = try TuningCache.entry(for: Self.gpu, in: file)
        } throws: { "\($0)" == "\(file): entry '\(TuningCache.key(Self.gpu))': \(reason)" }
    }

    @Test("Entries with a value of the wrong kind, an unknown field, or not an object are named; fields left out take the built-in values")
    func entryShapes() throws {
        let key = TuningCache.key(Self.gpu)
        for (entry, reason) in [(["rbM": "8"], "rbM must be a whole number, got \"8\""), (["tile": 8.5], "tile must be a whole number, got 8.5"),
                                (["matmul": 2], "matmul must be a name, got 2"), (["speed": 11], "unknown field 'speed'")] as [([String: Any], String)] {
            let file = try Self.table([key: entry])
            #expect { _ = try TuningCache.entry(for: Self.gpu, in: file) } throws: { "\($0)".hasPrefix("\(file): entry '\(key)': \(reason)") }
        }
        let notObject = try Self.table([key: "tiled"])
        #expect { _ = try TuningCache.entry(for: Self.gpu, in: notObject) } throws: { "\($0)" == "\(notObject): entry '\(key)' is not an object of fields" }
        let partial = try Self.table([key: ["tile": 8]])
        #expect(try TuningCache.entry(for: Self.gpu, in: partial) == KernelTuning(matmul: .tiled, tile: 8, cells: .scalar))
        // another device's bad entry does not stop this one
        let mixed = try Self.table([key: ["matmul": "simple"], "Other | 1 | 2": ["rbM": 99]])
        #expect(try TuningCache.entry(for: Self.gpu, in: mixed)?.matmul == .simple)
        #expect(TuningCache.problems(in: mixed).map(\.entry) == ["Other | 1 | 2"])
    }

    @Test("store replaces only this device's entry: other entries, readable or not, stay; a file that is not a JSON object is refused and unchanged")
    func storeKeepsOthers() throws {
        let other = ["rbM": 99, "note": "hand-edited"] as [String: Any]
        let file = try Self.table([TuningCache.key(Self.gpu): ["rbM": 40], "Other | 1 | 2": other, "Third | 3 | 4": ["matmul": "rb", "rbM": 4]])
        try TuningCache.store(KernelTuning(matmul: .tiled, tile: 8, cells: .scalar), for: Self.gpu, in: file)
        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: [String: Any]])
        func canonical(_ v: Any?) throws -> Data { try JSONSerialization.data(withJSONObject: v ?? [:], options: [.sortedKeys]) }
        #expect(try canonical(after["Other | 1 | 2"]) == canonical(other))
        #expect(try canonical(after["Third | 3 | 4"]) == canonical(["matmul": "rb", "rbM": 4]))
        #expect(try TuningCache.entry(for: Self.gpu, in: file) == KernelTuning(matmul: .tiled, tile: 8, cells: .scalar))
        #expect(TuningCache.problems(in: file).map(\.entry) == ["Other | 1 | 2"])

        let broken = try Self.table([:])
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: broken))
        #expect { try TuningCache.store(KernelTuning(matmul: .simple), for: Self.gpu, in: broken) } throws: {
            "\($0)".contains("\(broken): not a JSON object of tuning entries; nothing stored")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: broken)) == Data("{ not json".utf8))
        #expect(TuningCache.problems(in: broken).map(\.entry) == [nil])
    }

    @Test("recur with an unreadable entry for the OpenCL device: --device auto fails naming the file, entry and field (no CPU fallback); devices exits 1; --device cpu runs")
    func unreadableEntryForThisDevice() throws {
        guard let info = TestDevices.openCL()?.info else { return }
        let cache = try Scratch.folder("tuning-cache")
        try FileManager.default.createDirectory(at: cache.appendingPathComponent("recur"), withIntermediateDirectories: true)
        let file = cache.appendingPathComponent("recur/tuning.json")
        let bytes = try JSONSerialization.data(withJSONObject: [TuningCache.key(info): ["matmul": "rb", "rbM": 40]], options: [.sortedKeys])
        try bytes.write(to: file)
        let env = ["XDG_CACHE_HOME": cache.path]
        let expected = "\(file.path): entry '\(TuningCache.key(info))': rbM must be 1...16, got 40"
        for args in [["verify", "--cases", "0", "--device", "auto"], ["verify", "--cases", "0"], ["verify", "--cases", "0", "--device", "opencl"]] {
            let r = try RecurProcess.run(args, environment: env)
            #expect(r.status == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(expected), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("using cpu") && !r.stdout.contains("identical"), "\(args) fell back: \(r.stderr)")
        }
        let listed = try RecurProcess.run(["devices"], environment: env)
        #expect(listed.status == 1 && listed.stderr.contains(expected), "\(listed.stderr)")
        let cpu = try RecurProcess.run(["verify", "--cases", "0", "--device", "cpu"], environment: env)
        #expect(cpu.status == 0, "\(cpu.stderr)")
        #expect(try Data(contentsOf: file) == bytes)
    }
}
