import ArgumentParser
import Foundation
import Recur

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time matmul shapes on the CPU device and the chosen device (median of repeats after warm-up).")

    @OptionGroup var options: DeviceOptions
    @Option(help: "Repeats per shape (median reported).") var repeats: Int = 5
    @Option(name: .customLong("json"), help: "Write rows as JSON to this file.") var jsonFile: String?

    struct Row: Codable { var op: String; var shape: String; var device: String; var gflops: Double; var ms: Double; var spread: Double; var peer: Bool }

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    func run() throws {
        try guarded {
            let device = try options.open()
            let cpu = Device.cpu(threads: options.threads)
            let shapes = [MatmulShape(m: 256, n: 256, k: 256), MatmulShape(m: 512, n: 512, k: 512),
                          MatmulShape(m: 64, n: 2048, k: 1024), MatmulShape(m: 64, n: 1024, k: 2048, transB: true),
                          MatmulShape(m: 1024, n: 2048, k: 64, transA: true), MatmulShape(batch: 64, m: 128, n: 128, k: 128)]
            var rows: [Row] = []
            for s in shapes {
                for (name, d) in [("cpu", cpu), (device.info.selector, device)] where !(name == "cpu" && d !== cpu && device.info.kind == .cpu) {
                    let times = try time(s, on: d)
                    let median = times.sorted()[times.count / 2]
                    let row = Row(op: "matmul", shape: "b\(s.batch) \(s.m)x\(s.n)x\(s.k)\(s.transA ? " Aᵀ" : "")\(s.transB ? " Bᵀ" : "")",
                                  device: name, gflops: s.flops / median / 1e9, ms: median * 1e3,
                                  spread: (times.max()! - times.min()!) / median, peer: false)
                    rows.append(row)
                    print("\(row.op) \(row.shape.padding(28)) \(name.padding(10)) \(String(format: "%8.2f ms %8.1f GFLOP/s  spread %.0f%%", row.ms, row.gflops, row.spread * 100))")
                }
            }
            if let jsonFile {
                do { try Console.json(rows).write(toFile: jsonFile, atomically: true, encoding: .utf8) } catch {
                    throw Failure("--json \(jsonFile): cannot write (\(error.localizedDescription))")
                }
            }
        }
    }

    func time(_ s: MatmulShape, on d: Device) throws -> [Double] {
        let a = try d.allocate(s.extentA), b = try d.allocate(s.extentB), c = try d.allocate(s.extentC)
        try d.fill(a.view, 0.5); try d.fill(b.view, 0.25)
        try d.matmul(s, a: a.view, b: b.view, c: c.view)
        try d.synchronize()
        return try (0..<repeats).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            try d.matmul(s, a: a.view, b: b.view, c: c.view)
            try d.synchronize()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
    }
}
