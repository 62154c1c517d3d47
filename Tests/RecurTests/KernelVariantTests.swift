import Foundation
import Recur
import Testing

/// Kernel variants and tuning: every variant the tuner may pick is bit-identical to the CPU, the
/// tuner refuses one that is not, stores its winner where the next process finds it, and every
/// kernel runs clean under oclgrind.
@Suite struct KernelVariantTests {
    static let variants = [
        "matmul=simple", "matmul=rb,RB_M=8,RB_V=2,KB=128", "matmul=rb,RB_M=6,RB_V=1,KB=7",
        "matmul=rb,RB_M=3,RB_V=2,KB=0", "matmul=rb,RB_M=12,RB_V=2,KB=1", "matmul=rb,RB_M=1,RB_V=4,KB=33",
        "matmul=tiled,TILE=4", "matmul=tiled,TILE=8", "matmul=tiled,TILE=16",
    ]

    static var openCLIndex: Int? {
        TestDevices.openCL().flatMap { Int($0.info.selector.dropFirst("opencl:".count)) }
    }

    @Test("every kernel variant is bit-identical to the CPU (matmul and conv fixed sweeps + 40 random matmul shapes)", arguments: variants)
    func variantIdentical(_ text: String) throws {
        guard let index = Self.openCLIndex else { return }
        let tuning = try KernelTuning.parse(text, base: KernelTuning(matmul: .simple))
        let device = try Devices.openCL(index, tuning: tuning)
        let cases = OpCatalogue.fixed.filter { $0.op == "matmul" || $0.op.hasPrefix("conv1d") } + OpCatalogue.randomMatmul(seed: 31, count: 40)
        #expect(cases.count > 50)
        for c in cases {
            let cmp = OpComparison(try c.run(on: TestDevices.cpu, seed: 31), try c.run(on: device, seed: 31))
            #expect(cmp.identical, "\(text): \(c.label) differs by \(cmp.maxUlp) ulp (\(cmp.unwritten) unwritten)")
        }
    }

    @Test("both cell kernel variants (a unit per work-item, 16 per work-item in float16) give the CPU's bits: the catalogue's cell and elementwise cases, and LSTM/GRU cells, tanh and sigmoid over a million inputs of every magnitude",
          arguments: KernelTuning.Cells.allCases)
    func cellVariantIdentical(_ cells: KernelTuning.Cells) throws {
        guard let index = Self.openCLIndex else { return }
        let device = try Devices.openCL(index, tuning: KernelTuning(matmul: .simple, cells: cells))
        let cpu = TestDevices.cpu
        let cases = OpCatalogue.cellVariants
        #expect(cases.count >= 10)
        for c in cases {
            let cmp = OpComparison(try c.run(on: cpu, seed: 5), try c.run(on: device, seed: 5))
            #expect(cmp.identical, "cells=\(cells): \(c.label) \(c.op) differs by \(cmp.maxUlp) ulp (\(cmp.unwritten) unwritten)")
        }
        // The sweep as gate pre-activations, cell states and tanh/sigmoid inputs (hidden 512: whole vectors).
        var sweep = PortableMathTests.sweep
        while sweep.count % 16 != 7 { sweep.append(Float(sweep.count % 13) - 6) }   // a scalar tail for tanh and sigmoid
        let h = 512, b = sweep.count / (4 * h)
        func run(_ d: Device) throws -> [[UInt32]] {
            let n = b * h, gates = try d.buffer(Array(sweep[0..<4 * n])), cPrev = try d.buffer(randoms(n, seed: 3))
            let act = try d.allocate(4 * n), c = try d.allocate(n), hOut = try d.allocate(n)
            try d.lstmForward(batch: b, hidden: h, gates: gates.view, cPrev: cPrev.view, act: act.view, c: c.view, h: hOut.view)
            let cs = try d.buffer(Array(sweep[n..<2 * n])), dh = try d.buffer(randoms(n, seed: 4)), dg = try d.allocate(4 * n), dcp = try d.allocate(n)
            let a01 = try d.buffer(randoms(4 * n, seed: 6).map { abs($0) })
            try d.lstmBackward(batch: b, hidden: h, act: a01.view, cPrev: cPrev.view, c: cs.view, dh: dh.view, dcNext: nil, dGates: dg.view, dcPrev: dcp.view)
            let gi = try d.buffer(Array(sweep[0..<3 * n])), gh = try d.buffer(randoms(3 * n, seed: 7)), gAct = try d.allocate(4 * n), gH = try d.allocate(n)
            try d.gruForward(batch: b, hidden: h, gi: gi.view, gh: gh.view, hPrev: cPrev.view, act: gAct.view, h: gH.view)
            let x = try d.buffer(sweep), t = try d.allocate(sweep.count), s = try d.allocate(sweep.count)
            try d.unary(.tanh, x: x.view, y: t.view)
            try d.unary(.sigmoid, x: x.view, y: s.view)
            return try [act, c, hOut, dg, dcp, gAct, gH, t, s].map { try d.download($0.view, as: UInt32.self) }
        }
        #expect(b * h * 4 > 1_000_000)
        let cmp = OpComparison(try run(cpu), try run(device))
        #expect(cmp.identical, "cells=\(cells): output \(cmp.firstDifference.map { "\($0)" } ?? "") differs by \(cmp.maxUlp) ulp")
    }

    @Test("CPU products with a large C (longer k-blocks) give the bits of the same rows computed in small slices",
          arguments: [MatmulShape(m: 2048, n: 1024, k: 520, transA: true, transB: true)])
    func largeCIdentical(_ s: MatmulShape) throws {
        let d = TestDevices.cpu
        let a = try d.buffer(randoms(s.m * s.k, seed: 41)), b = try d.buffer(randoms(s.k * s.n, seed: 42))
        let bias = try d.buffer(randoms(s.n, seed: 43)), whole = try d.allocate(s.m * s.n), sliced = try d.allocate(s.m * s.n)
        try d.matmul(s, a: a.view, b: b.view, c: whole.view, start: .bias(bias.view))
        let rows = 256   // 256 × 1024 is below the large-C size: blocks of kc
        for r0 in stride(from: 0, to: s.m, by: rows) {
            var part = s
            part.m = rows
            let aPart = s.transA ? a.view.slice(r0, a.count - r0) : a.view.slice(r0 * s.k, rows * s.k)
            try d.matmul(part, a: aPart, b: b.view, c: sliced.view.slice(r0 * s.n, rows * s.n), start: .bias(bias.view))
        }
        #expect(bits(try d.download(whole.view)) == bits(try d.download(sliced.view)))
    }

    @Test("tuning strings parse, print back, and bad ones are refused with the reason")
    func parsing() throws {
        let base = KernelTuning(matmul: .simple)
        let t = try KernelTuning.parse("matmul=rb,RB_M=6,RB_V=1,KB=64", base: base)
        #expect(t == KernelTuning(matmul: .rb, rbM: 6, rbV: 1, kBlock: 64))
        #expect(try KernelTuning.parse(t.description, base: base) == t)
        #expect(try KernelTuning.parse("matmul=tiled,TILE=32", base: base).tile == 32)
        #expect(try KernelTuning.parse("cells=v16", base: base) == KernelTuning(matmul: .simple, cells: .v16))
        for (bad, reason) in [("matmul=fast", "must be one of"), ("RB_M=0", "1...16"), ("RB_V=5", "1...4"), ("KB=-1", "≥ 0"),
                              ("TILE=12", "4, 8, 16 or 32"), ("cells=v8", "scalar, v16"), ("speed=11", "unknown key"), ("matmul", "key=value")] {
            #expect(throws: DeviceError.self) { try KernelTuning.parse(bad, base: base) }
            do { _ = try KernelTuning.parse(bad, base: base) } catch { #expect("\(error)".contains(reason), "\(bad): \(error)") }
        }
    }

    @Test("recur tune stores the winner per device and driver; the next process uses it")
    func tuneStoresWinner() throws {
        let cache = URL(fileURLWithPath: Scratch.path("tune"))
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["XDG_CACHE_HOME": cache.path]
        let r = try RecurProcess.run(["tune", "--device", "opencl", "--only", "matmul=simple;matmul=rb,RB_M=4,RB_V=2,KB=64", "--repeats", "1"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("matmul=simple") && r.stdout.contains("matmul=rb,RB_M=4,RB_V=2,KB=64"), "\(r.stdout)")
        // The register-blocked kernel is tens of times faster on PoCL than one output per work-item.
        #expect(r.stdout.contains("best: matmul=rb,RB_M=4,RB_V=2,KB=64,cells="), "\(r.stdout)")
        // Both cell variants were checked and timed; the faster one is stored with the matmul winner.
        #expect(r.stdout.contains("cells=scalar ") && r.stdout.contains("cells=v16 ") && !r.stdout.contains("REFUSED"), "\(r.stdout)")
        let table = try JSONDecoder().decode([String: KernelTuning].self,
                                             from: Data(contentsOf: cache.appendingPathComponent("recur/tuning.json")))
        let stored = try #require(table.values.first)
        let cells = try #require(stored.cells)
        #expect(stored == KernelTuning(matmul: .rb, rbM: 4, rbV: 2, kBlock: 64, cells: cells))
        let devices = try RecurProcess.run(["devices"], environment: env)
        #expect(devices.stdout.contains("kernels: matmul=rb,RB_M=4,RB_V=2,KB=64,cells=\(cells.rawValue) (tuned)"), "\(devices.stdout)")
        let overridden = try RecurProcess.run(["devices"], environment: env.merging(["RECUR_TUNING": "matmul=simple"]) { $1 })
        #expect(overridden.stdout.contains("kernels: matmul=simple,cells=v16 (RECUR_TUNING)"), "\(overridden.stdout)")   // the rest from the built-in table
    }

    @Test("The built-in table gives a CPU-type device the register block its vectors suit: 8 x 32 with 16-float vectors, 6 x 16 with 8")
    func builtInFollowsVectorWidth() throws {
        guard var info = TestDevices.openCL()?.info, info.deviceType == "cpu" else { return }
        #expect(info.preferredFloatVector == 8 || info.preferredFloatVector == 16, "PoCL reports \(String(describing: info.preferredFloatVector))")
        info.preferredFloatVector = 16
        #expect(KernelTuning.builtIn(for: info) == KernelTuning(matmul: .rb, rbM: 8, rbV: 2, kBlock: 128, cells: .v16))
        info.preferredFloatVector = 8
        #expect(KernelTuning.builtIn(for: info) == KernelTuning(matmul: .rb, rbM: 6, rbV: 1, kBlock: 128, cells: .v16))
        info.deviceType = "gpu"
        #expect(KernelTuning.builtIn(for: info).matmul == .tiled)
    }

    @Test("recur tune refuses a variant that is not bit-identical and stores nothing when all are refused")
    func tuneRefusesDifferentBits() throws {
        let dir = Scratch.root.appendingPathComponent("mutated-rb")
        let cache = dir.appendingPathComponent("cache")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: Repo.kernels.path) where f.hasSuffix(".cl") {
            var text = try String(contentsOf: Repo.kernels.appendingPathComponent(f), encoding: .utf8)
            if f == "common.cl" {   // a separate multiply and add instead of one fma, in the register-blocked kernels only
                let fma = "RB_ACC(r, v) = fma(a##r, b##v, RB_ACC(r, v));"
                #expect(text.contains(fma))
                text = text.replacingOccurrences(of: fma, with: "RB_ACC(r, v) = a##r * b##v + RB_ACC(r, v);")
                // and the float16 tanh takes its polynomial at 0.6 itself, where the scalar one does not
                let near = "float16 r = select(far, near, a < 0.6f);"
                #expect(text.contains(near))
                text = text.replacingOccurrences(of: near, with: "float16 r = select(far, near, a <= 0.6f);")
            }
            try text.write(to: dir.appendingPathComponent(f), atomically: true, encoding: .utf8)
        }
        let env = ["XDG_CACHE_HOME": cache.path, "RECUR_KERNELS_DIR": dir.path]
        let mixed = try RecurProcess.run(["tune", "--device", "opencl:0", "--only", "matmul=simple;matmul=rb,KB=0", "--repeats", "1"], environment: env)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(mixed.stdout.contains("REFUSED: not bit-identical"), "\(mixed.stdout)")
        #expect(mixed.stdout.contains("best: matmul=simple,cells=scalar"), "\(mixed.stdout)")
        #expect(mixed.stdout.contains("cells=v16") && mixed.stdout.components(separatedBy: "REFUSED").count == 3, "\(mixed.stdout)")
        let none = try RecurProcess.run(["tune", "--device", "opencl:0", "--only", "matmul=rb,KB=0", "--repeats", "1", "--dry-run"], environment: env)
        #expect(none.status == 1)
        #expect(none.stderr.contains("no candidate was bit-identical"), "\(none.stderr)")
    }

    @Test("every kernel under oclgrind: no out-of-bounds access, race, uninitialised value or API misuse (needs oclgrind)")
    func oclgrindClean() throws {
        let script = Repo.root.appendingPathComponent("Scripts/oclgrind-check.sh").path
        let r = try RecurProcess.tool("/bin/bash", [script, RecurProcess.executable.path], in: Repo.root)
        #expect(r.exited && r.status == 0, "Scripts/oclgrind-check.sh (install oclgrind: Scripts/install-deps.sh):\n\(r.output)")
        #expect(r.output.components(separatedBy: "0 oclgrind reports").count == 4, "\(r.output)")
    }
}
