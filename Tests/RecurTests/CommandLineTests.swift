import Foundation
import Recur
import Testing

/// Runs the built `recur` executable (it sits beside the test bundle) and returns its exit status and output.
struct RecurProcess {
    static let executable: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("recur")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("recur")
    }()

    static func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: Devices.environmentVariable)
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Runs any program with stdout and stderr together; `exited` is false when a signal ended it.
    static func tool(_ path: String, _ args: [String], in dir: URL? = nil) throws -> (exited: Bool, status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let dir { p.currentDirectoryURL = dir }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationReason == .exit, p.terminationStatus, text)
    }
}

@Suite struct CommandLineTests {
    static let emptyVendors: String = {
        let dir = Scratch.root.appendingPathComponent("empty-vendors")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }()

    @Test("recur exists beside the tests")
    func executableFound() {
        #expect(FileManager.default.isExecutableFile(atPath: RecurProcess.executable.path), "\(RecurProcess.executable.path)")
    }

    @Test("devices --json lists the CPU and an admitted PoCL/OpenCL device with every required field")
    func devicesJSON() throws {
        let r = try RecurProcess.run(["devices", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        for row in rows {
            for key in ["kind", "name", "vendor", "driver", "version", "computeUnits", "globalMemoryBytes", "admitted", "reason"] {
                #expect(row[key] != nil, "missing \(key) in \(row)")
            }
        }
        #expect(rows.first?["kind"] as? String == "cpu")
        #expect(rows.contains { $0["kind"] as? String == "opencl" && $0["admitted"] as? Bool == true }, "no admitted OpenCL device: \(r.stdout)")
    }

    @Test("With an empty ICD vendors folder, auto falls back to the CPU and says why")
    func autoFallsBackToCPU() throws {
        let r = try RecurProcess.run(["verify", "--cases", "0"], environment: ["OCL_ICD_VENDORS": Self.emptyVendors])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("using cpu: no OpenCL device found"), "\(r.stderr)")
        let listed = try RecurProcess.run(["devices", "--json"], environment: ["OCL_ICD_VENDORS": Self.emptyVendors])
        #expect(listed.status == 0 && !listed.stdout.contains("\"opencl\""))
    }

    @Test("An explicit --device opencl that cannot be had fails, never runs on the CPU")
    func explicitOpenCLFails() throws {
        for device in ["opencl", "opencl:0"] {
            let r = try RecurProcess.run(["verify", "--cases", "0", "--device", device], environment: ["OCL_ICD_VENDORS": Self.emptyVendors])
            #expect(r.status != 0)
            #expect(r.stderr.contains("no OpenCL device"), "\(r.stderr)")
            #expect(!r.stdout.contains("identical"))
        }
        let env = try RecurProcess.run(["verify", "--cases", "0"], environment: ["OCL_ICD_VENDORS": Self.emptyVendors, "RECUR_DEVICE": "opencl"])
        #expect(env.status != 0 && env.stderr.contains("RECUR_DEVICE=opencl: no OpenCL device") && !env.stderr.contains("--device"), "\(env.stderr)")
    }

    @Test("An unknown device is a one-line error with a non-zero exit")
    func unknownDevice() throws {
        let r = try RecurProcess.run(["verify", "--device", "tpu"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unknown device 'tpu'"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test("verify --json reports every op identical on the OpenCL device")
    func verifyJSON() throws {
        let r = try RecurProcess.run(["verify", "--device", "opencl", "--seed", "17", "--cases", "16", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(obj["allIdentical"] as? Bool == true)
        #expect(obj["seed"] as? Int == 17)
        #expect((obj["device"] as? String)?.hasPrefix("opencl:") == true)
        let ops = try #require(obj["ops"] as? [[String: Any]])
        #expect(Set(ops.compactMap { $0["op"] as? String }) == Set(OpCatalogue.ops))
        #expect(ops.allSatisfy { $0["identical"] as? Bool == true && $0["maxUlp"] as? Int == 0 && ($0["cases"] as? Int ?? 0) > 0 })
    }

    @Test("bench --shape with pB times the product over a B packed once, on the CPU device; a batched pB is refused")
    func benchPackedShape() throws {
        let json = URL(fileURLWithPath: Scratch.path("bench-packed") + ".json")
        let r = try RecurProcess.run(["bench", "--device", "cpu", "--shape", "13x70x9,pB", "--shape", "7x130x200,tB,pB", "--repeats", "1", "--json", json.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [[String: Any]])
        let ours = rows.filter { $0["peer"] as? Bool == false }
        #expect(ours.map { $0["shape"] as? String } == ["b1 13x70x9", "b1 7x130x200 Bᵀ"])
        #expect(ours.allSatisfy { $0["op"] as? String == "matmul_packedB" && ($0["gflops"] as? Double ?? 0) > 0 })
        let bad = try RecurProcess.run(["bench", "--device", "cpu", "--shape", "4x4x4,b2,pB"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--shape '4x4x4,b2,pB': pB (B packed once) takes a single product"), "\(bad.stderr)")
    }

    @Test("bench --suite train: rows with speed, peak memory, sequence, batch and threads; a stand-in peer's rows give the ratios; an unknown workload is refused")
    func benchTrainSuite() throws {
        let dir = try Scratch.folder("bench-train")
        // Stands in for Python with PyTorch: prints one row as pytorch_peer.py does (the speed 1000 tokens/s, 100 MB)
        let peer = dir.appendingPathComponent("fake-python")
        let row = #"{"workload": "lstm-small", "device": "pytorch-cpu", "units": "tokens", "unitsPerSecond": 1000, "spread": 0, "peakMB": 100, "peer": true}"#
        try "#!/bin/sh\necho '\(row)'\n".write(to: peer, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: peer.path)
        let json = dir.appendingPathComponent("rows.json")
        let r = try RecurProcess.run(["bench", "--suite", "train", "--workload", "lstm-small", "--device", "cpu", "--threads", "1", "--seq", "5",
                                      "--batch", "3", "--repeats", "1", "--rounds", "2", "--peer", "pytorch", "--python", peer.path,
                                      "--peer-script", Repo.root.appendingPathComponent("Benchmarks/pytorch_peer.py").path, "--json", json.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [[String: Any]])
        #expect(rows.count == 4, "two rounds of the CPU device and the peer: \(rows)")
        #expect(rows.allSatisfy { $0["sequence"] as? Int == 5 && $0["batch"] as? Int == 3 && $0["threads"] as? Int == 1 })
        #expect(rows.map { $0["round"] as? Int } == [0, 0, 1, 1])
        let ours = rows.filter { $0["peer"] as? Bool == false }
        #expect(ours.count == 2 && ours.allSatisfy { $0["workload"] as? String == "lstm-small" && $0["units"] as? String == "tokens" })
        #expect(ours.allSatisfy { ($0["unitsPerSecond"] as? Double ?? 0) > 0 && ($0["peakMB"] as? Double ?? 0) > 1 })
        #expect(ours.allSatisfy { ($0["buffersMB"] as? Double ?? 0) > 0 && ($0["buffersMB"] as? Double ?? 0) < ($0["peakMB"] as? Double ?? 0) })
        // the printed ratio is the median of the rounds' own ratios to the peer's 1000 tokens/s
        let ratios = ours.compactMap { $0["unitsPerSecond"] as? Double }.map { $0 / 1000 }.sorted()
        let ratio = String(format: "%.2fx PyTorch's speed", (ratios[0] + ratios[1]) / 2)
        #expect(r.stdout.contains(ratio) && r.stdout.contains("(median of 2 rounds)"), "\(ratio) in \(r.stdout)")
        let bad = try RecurProcess.run(["bench", "--suite", "train", "--workload", "nope", "--device", "cpu"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--workload: none of [\"nope\"] is a workload"), "\(bad.stderr)")
    }

    @Test("Kernels from disk that do not compile: the error carries the build log")
    func brokenKernelOverrideShowsLog() throws {
        let dir = Scratch.root.appendingPathComponent("broken-kernels")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: Repo.kernels.path) where f.hasSuffix(".cl") {
            try FileManager.default.copyItem(at: Repo.kernels.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try "__kernel void broken(__global float* x) { x[0] = undefined_name; }\n".write(to: dir.appendingPathComponent("zz_broken.cl"), atomically: true, encoding: .utf8)
        let r = try RecurProcess.run(["verify", "--device", "opencl:0", "--cases", "0"], environment: ["RECUR_KERNELS_DIR": dir.path, "RECUR_NO_CACHE": "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("build failed"), "\(r.stderr)")
        #expect(r.stderr.contains("undefined_name"), "build log missing: \(r.stderr)")
    }
}
