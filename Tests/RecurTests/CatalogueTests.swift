import Foundation
import Recur
import Testing

/// The op catalogue on every device: the OpenCL device and the CPU device at several thread
/// counts must give the CPU's bits (NaN-aware), with every output element written.
@Suite struct CatalogueTests {
    @Test("OpenCL device is bit-identical to the CPU", arguments: OpCatalogue.fixed)
    func openCLMatchesCPU(_ c: OpCase) throws {
        guard let device = TestDevices.openCL() else { return }
        let cmp = OpComparison(try c.run(on: TestDevices.cpu, seed: 11), try c.run(on: device, seed: 11))
        #expect(cmp.unwritten == 0, "\(cmp.unwritten) output elements not written")
        #expect(cmp.identical, "max \(cmp.maxUlp) ulp, first difference \(String(describing: cmp.firstDifference))")
    }

    @Test("CPU results do not depend on the thread count", arguments: OpCatalogue.fixed)
    func threadCountInvariant(_ c: OpCase) throws {
        let one = try c.run(on: TestDevices.cpuOneThread, seed: 5)
        #expect(one == (try c.run(on: TestDevices.cpu, seed: 5)))
        #expect(one == (try c.run(on: TestDevices.cpuThreeThreads, seed: 5)))
    }

    @Test("Both register tiles (6 x 16 and 6 x 64 columns) give the same bits, whichever the build picks",
          arguments: OpCatalogue.fixed.filter { $0.op.hasPrefix("matmul") || $0.op.hasPrefix("conv1d") } + OpCatalogue.splits)
    func registerTileInvariant(_ c: OpCase) throws {
        let narrow = try c.run(on: try Device.cpu(threads: 2, registerColumns: 16), seed: 7)
        #expect(narrow == (try c.run(on: try Device.cpu(threads: 2, registerColumns: 64), seed: 7)))
        #expect(narrow == (try c.run(on: TestDevices.cpuOneThread, seed: 7)))
    }

    @Test("A packed B takes K rows of N rounded up to whole 64-column panels on the CPU, nothing on a device that reads B as stored")
    func packedSize() throws {
        #expect(Device.cpu().packedCount(n: 512, k: 2048) == 2048 * 512)
        #expect(Device.cpu().packedCount(n: 2048, k: 512) == 512 * 2048)
        #expect(Device.cpu().packedCount(n: 70, k: 9) == 9 * 128)
        #expect(Device.cpu().packedCount(n: 64, k: 1) == 64)
        guard let device = TestDevices.openCL() else { return }
        #expect(device.packedCount(n: 70, k: 9) == 0)
    }

    @Test("A register tile other than 16 or 64 columns is refused")
    func registerTileRefused() throws {
        #expect(throws: DeviceError.self) { try Device.cpu(registerColumns: 32) }
        #expect(try Device.cpu(registerColumns: 16).info.registerTile == "6 x 16")
        #expect(try Device.cpu(registerColumns: 64).info.registerTile == "6 x 64")
    }

    @Test("Products split finely over threads give one thread's bits, and OpenCL's", arguments: OpCatalogue.splits)
    func splitProducts(_ c: OpCase) throws {
        let one = try c.run(on: TestDevices.cpuOneThread, seed: 9)
        for threads in [2, 3, ProcessInfo.processInfo.activeProcessorCount + 2] {   // the last: more than the pool has workers (the fallback path)
            #expect(one == (try c.run(on: Device.cpu(threads: threads), seed: 9)), "\(threads) threads")
        }
        guard let device = TestDevices.openCL() else { return }
        let cmp = OpComparison(one, try c.run(on: device, seed: 9))
        #expect(cmp.unwritten == 0 && cmp.identical, "max \(cmp.maxUlp) ulp, unwritten \(cmp.unwritten)")
    }

    @Test("Random shapes drawn from several seeds are identical on OpenCL", arguments: [3, 1234, 99991] as [UInt64])
    func randomShapes(_ seed: UInt64) throws {
        guard let device = TestDevices.openCL() else { return }
        for c in OpCatalogue.random(seed: seed, count: 24) {
            let cmp = OpComparison(try c.run(on: TestDevices.cpu, seed: seed), try c.run(on: device, seed: seed))
            #expect(cmp.identical, "\(c): max \(cmp.maxUlp) ulp, unwritten \(cmp.unwritten)")
        }
    }

    @Test("The comparison catches a one-ulp difference, a NaN against a number, and unwritten output")
    func comparisonCanFail() {
        let one = Float(1).bitPattern
        #expect(OpComparison([[one]], [[one]]).identical)
        #expect(OpComparison([[0x7fc0_0000]], [[0xffc0_0001]]).identical)   // any NaN matches any NaN
        let ulp = OpComparison([[one]], [[one + 1]])
        #expect(!ulp.identical && ulp.maxUlp == 1)
        #expect(!OpComparison([[Float(0).bitPattern]], [[Float(-0.0).bitPattern]]).identical)   // +0 and -0 differ
        #expect(!OpComparison([[0x7fc0_0000]], [[one]]).identical)
        #expect(OpComparison([[OpRun.poison, one]], [[OpRun.poison, one]]).unwritten == 1)
        #expect(!OpComparison([[OpRun.poison]], [[OpRun.poison]]).identical)
    }

    @Test("Ops called on one CPU device from four threads at once give the bits of one caller")
    func concurrentCallers() throws {
        let shared = Device.cpu(threads: 2)
        let cases = OpCatalogue.randomMatmul(seed: 5, count: 12) + OpCatalogue.fixed.filter { ["lstm_forward", "xent_backward", "row_col_sum"].contains($0.op) }
        let expected = try cases.map { try $0.run(on: TestDevices.cpuOneThread, seed: 5) }
        nonisolated(unsafe) var results = [[[UInt32]]](repeating: [], count: 4 * cases.count)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for (n, c) in cases.enumerated() { results[worker * cases.count + n] = (try? c.run(on: shared, seed: 5)) ?? [] }
        }
        for worker in 0..<4 {
            for (n, c) in cases.enumerated() {
                #expect(OpComparison(expected[n], results[worker * cases.count + n]).identical, "caller \(worker): \(c)")
            }
        }
    }
}
