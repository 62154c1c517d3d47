import Foundation
import Recur
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
            #expect(CPUBackend.hardwareFMA)
        }
        #else
        #expect(CPUBackend.hardwareFMA)
        #endif
        #expect(Device.cpu().info.hardwareFMA == CPUBackend.hardwareFMA)
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

    @Test("An OpenCL allocation beyond the device's maximum is refused with the numbers")
    func openCLAllocationLimit() throws {
        guard let device = TestDevices.openCL() else { return }
        let tooMany = Int(device.info.maxAllocationBytes / 4) + 1
        #expect {
            _ = try device.allocate(tooMany)
        } throws: { error in
            "\(error)".contains("exceeds") && "\(error)".contains("\(device.info.maxAllocationBytes)")
        }
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
