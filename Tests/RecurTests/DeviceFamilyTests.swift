import Foundation
@testable import Recur
import Testing

/// Devices are found through the registry of families keyed by selector prefix: a new backend is a
/// registered family, and selection, listing and the accepted forms follow without other edits.
@Suite struct DeviceFamilyTests {
    @Test("A registered family is selected by prefix and by prefix:N, listed, and named in the forms; an unknown prefix or index is refused")
    func registeredFamily() throws {
        let opened = Counter()
        // a stand-in backend: the CPU device behind a family of two devices (not preferred, so `auto` is unaffected)
        Devices.register(DeviceFamily(prefix: "testdev", preferred: false, count: { 2 }, open: { index, threads in
            opened.add()
            guard index < 2 else { throw DeviceError.unavailable("no testdev device \(index)") }
            return Device.cpu(threads: threads)
        }))
        #expect(Devices.family("testdev") != nil)
        #expect(DeviceRequest.forms.contains("testdev or testdev:N"), "\(DeviceRequest.forms)")
        let (d, note) = try Devices.select("testdev:1", threads: 1)
        #expect(d.info.kind == .cpu && note.contains("using testdev:1"), "\(note)")
        #expect(try Devices.select("testdev").note.contains("first admitted testdev device"))
        #expect(throws: DeviceError.self) { try Devices.select("testdev:7") }
        #expect(throws: DeviceError.self) { try Devices.select("cpu:7") }   // one CPU device
        #expect(try Devices.select("cpu:0").device.info.kind == .cpu)
        #expect(throws: DeviceError.self) { try Devices.select("testdev:+1") }
        #expect(throws: DeviceError.self) { try Devices.select("nosuchdev") }
        #expect(DeviceRequest("testdev:1").family?.prefix == "testdev" && DeviceRequest("testdev:1").family?.index == 1)
        #expect(DeviceRequest("opencl:2").openCLIndex == 2 && DeviceRequest("cpu").openCLIndex == nil)
        let before = opened.value
        #expect(Devices.all(threads: 1).filter { $0.selector == "cpu" }.count >= 3)   // the CPU and the two stand-ins
        #expect(opened.value == before + 2)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var value: Int { lock.withLock { n } }
        func add() { lock.withLock { n += 1 } }
    }

    @Test("bench keeps --threads beside an OpenCL device (it runs the CPU device too); train refuses it there")
    func threadsBesideOpenCL() throws {
        guard TestDevices.openCL() != nil else { return }
        let bench = try RecurProcess.run(["bench", "--device", "opencl", "--threads", "1", "--shape", "2x2x2", "--repeats", "1"])
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdout.contains("cpu") && bench.stdout.contains("opencl:"), "\(bench.stdout)")
        let train = try RecurProcess.run(["train", "--task", "memory", "--steps", "1", "--device", "opencl", "--threads", "1"])
        #expect(train.status == 64 && train.stderr.contains("--threads is for the CPU device, not --device opencl"), "\(train.stderr)")
    }
}
