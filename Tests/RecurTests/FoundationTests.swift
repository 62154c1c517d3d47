import Foundation
@testable import Recur
import Testing

@Suite struct FoundationTests {
    @Test("The embedded kernel text equals Kernels/ on disk (run Scripts/embed-kernels.sh after editing a kernel)")
    func embeddedKernelsMatchDisk() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Repo.kernels.path).filter { $0.hasSuffix(".cl") }
        let embedded = KernelSource.embedded
        #expect(Set(embedded.map(\.name)) == Set(names))
        #expect(embedded.first?.name == "common.cl")
        for (name, source) in embedded {
            let disk = try String(contentsOf: Repo.kernels.appendingPathComponent(name), encoding: .utf8)
            #expect(source + "\n" == disk || source == disk, "\(name) is stale: run Scripts/embed-kernels.sh")
        }
    }

    @Test("Every kernel file starts with the FP_CONTRACT OFF pragma and nothing relaxes IEEE arithmetic")
    func kernelRules() throws {
        #expect(!KernelSource.buildOptions.contains("fast") && !KernelSource.buildOptions.contains("mad"))
        #expect(KernelSource.buildOptions.contains("-cl-fp32-correctly-rounded-divide-sqrt"))
        for (name, source) in KernelSource.embedded {
            #expect(source.hasPrefix("#pragma OPENCL FP_CONTRACT OFF"), "\(name)")
            let banned = try Regex("native_|half_|\\bmad\\(|atomic_|(^|[^A-Za-z_])(exp|exp2|expm1|tanh|log|pow|rsqrt)\\(")
            let hit = source.firstMatch(of: banned).map { String(source[$0.range]) }
            #expect(hit == nil, "\(name) uses \(hit ?? "")")
        }
    }

    @Test("The build uses hardware FMA where the CPU has it")
    func hardwareFMABuild() throws {
        #if arch(x86_64)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        if cpuinfo.contains(" fma ") && ProcessInfo.processInfo.environment["RECUR_TARGET_CPU"] != "none" {
            #expect(Device.cpu().info.hardwareFMA == true)
        }
        #else
        #expect(Device.cpu().info.hardwareFMA == true)
        #endif
    }

    @Test("Shapes and ownership are checked before any op runs")
    func badViewsAreErrors() throws {
        let cpu = Device.cpu(), other = Device.cpu()
        let a = try cpu.allocate(6), b = try cpu.allocate(6), small = try cpu.allocate(3), foreign = try other.allocate(6)
        #expect(throws: DeviceError.self) { try cpu.matmul(MatmulShape(m: 2, n: 3, k: 3), a: a.view, b: b.view, c: small.view) }
        #expect(throws: DeviceError.self) { try cpu.matmul(MatmulShape(m: 2, n: 3, k: 3), a: a.view, b: foreign.view, c: a.view) }
        #expect(throws: DeviceError.self) { try cpu.matmul(MatmulShape(m: 0, n: 3, k: 3), a: a.view, b: b.view, c: a.view) }
        #expect(throws: DeviceError.self) { try cpu.unary(.tanh, x: a.view.slice(4, 6), y: b.view) }
        #expect(throws: DeviceError.self) { try cpu.allocate(-1) }
        #expect(throws: DeviceError.self) { try cpu.allocate(Int(Int64.max / 8)) }
        #expect(throws: DeviceError.self) { try cpu.dropout(seed: 1, stream: 1, p: 1, x: a.view, y: b.view) }
        #expect(throws: DeviceError.self) { try cpu.adam(AdamParams(lr: 1), step: 0, param: a.view, grad: a.view, m: a.view, v: a.view) }
    }

    @Test("An allocation beyond the device's limit is refused with the numbers, the limit derived from the device",
          arguments: ["cpu", "opencl"])
    func allocationLimit(_ which: String) throws {
        guard let device = which == "cpu" ? TestDevices.cpu : TestDevices.openCL() else { return }
        let limit = device.maxBufferElements
        #expect(limit == Int(min(device.info.maxAllocationBytes / 4, UInt64(Int32.max))))
        #expect {
            _ = try device.allocate(limit + 1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("allocation of \(limit + 1) elements exceeds the \(limit)") && text.contains("\(device.info.maxAllocationBytes) bytes")
        }
        _ = try device.allocate(1)
    }

    @Test("CPU buffers and the product's pack buffers start on a cache line (a vector load never spans two)")
    func cpuAlignment() throws {
        let device = Device.cpu(threads: 3)
        let buffers = try [1, 3, 17, 1000, 40_000, 1 << 20].map { try device.allocate($0) }
        for b in buffers {
            guard case .host(let p) = b.storage else { Issue.record("a CPU buffer is not host memory"); continue }
            #expect(Int(bitPattern: p) % CPUBackend.alignment == 0, "\(b.count) floats at \(p)")
        }
        let backend = try #require(device.backend as? CPUBackend)
        #expect(Int(bitPattern: backend.packs) % CPUBackend.alignment == 0)
        #expect(CPUBackend.packFloats * 4 % CPUBackend.alignment == 0, "each worker's pack starts where the last ends")
        backend.matmulLock.withLock { #expect(Int(bitPattern: backend.sharedPack()) % CPUBackend.alignment == 0) }
        #expect(Int(bitPattern: backend.convScratch(5000)) % CPUBackend.alignment == 0)
    }

    @Test("Upload, fill and download round-trip on every device, at offsets")
    func allocatorRoundTrip() throws {
        for device in [TestDevices.cpu] + [TestDevices.openCL()].compactMap({ $0 }) {
            let b = try device.allocate(10)
            try device.fill(b.view, 2.5)
            try device.upload([1, 2, 3] as [Float], to: b.view.slice(4, 3))
            #expect(try device.download(b.view) == [2.5, 2.5, 2.5, 2.5, 1, 2, 3, 2.5, 2.5, 2.5])
            try device.upload([7, -8] as [Int32], to: b.view.slice(8, 2))
            #expect(try device.download(b.view.slice(8, 2), as: Int32.self) == [7, -8])
        }
    }
}

@Suite struct ConfigTests {
    @Test("A model config written before a field existed still decodes, with defaults")
    func olderConfigDecodes() throws {
        let old = #"{"family":"charlm","cell":"gru","hidden":12,"vocab":30}"#
        let c = try JSONDecoder().decode(ModelConfig.self, from: Data(old.utf8))
        #expect(c.cell == .gru && c.hidden == 12 && c.vocab == 30 && c.forgetBias == 0 && c.layers == 1)
        var d = ModelConfig(family: .classifier)
        d.forgetBias = 1; d.convWidths = [2, 7]
        #expect(try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(d)) == d)
    }

    @Test("--forget-bias shifts exactly the forget slice of bias_ih of every LSTM layer")
    func forgetBias() throws {
        var c = ModelConfig(family: .languageModel)
        c.vocab = 5; c.hidden = 4; c.layers = 2; c.embedding = 3; c.batch = 2; c.sequence = 3
        let plain = try Model(c, device: Device.cpu(), seed: 9)
        c.forgetBias = 1
        let shifted = try Model(c, device: Device.cpu(), seed: 9)
        for (p, q) in zip(plain.parameters, shifted.parameters) {
            let a = try plain.device.download(p.value.view), b = try shifted.device.download(q.value.view)
            if p.name.hasPrefix("rnn.bias_ih") {
                #expect((0..<16).allSatisfy { (4..<8).contains($0) ? b[$0] == a[$0] + 1 : b[$0] == a[$0] }, "\(p.name)")
            } else {
                #expect(a == b, "\(p.name)")
            }
        }
    }
}
