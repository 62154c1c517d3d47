import Foundation
import Recur
import Testing

/// The portable exp, log, sigmoid and tanh: known answers at the edges, error against Double,
/// and identical bits on the OpenCL device over many inputs.
@Suite struct PortableMathTests {
    static let edges: [Float] = [0, -0.0, 0x1p-149, -0x1p-149, 0x1p-130, -0x1.8p-128, .leastNormalMagnitude,
                                 1, -1, 0.6, -0.6, 0x1.333332p-1, 0x1.333334p-1, 88.72, 88.73, 89, 100, -87, -103, -104, -150,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 1e-30, 1e30]

    /// Every 4099th bit pattern (both signs): about 2 million inputs of every magnitude.
    static let sweep: [Float] = stride(from: UInt32(0), to: UInt32.max - 4099, by: 4099).map { Float(bitPattern: $0) }.filter { !$0.isNaN } + edges

    @Test func exactEdgeValues() {
        #expect(PortableMath.exp(0) == 1 && PortableMath.exp(-0.0) == 1)
        #expect(PortableMath.exp(0x1p-149) == 1)
        #expect(PortableMath.exp(.infinity) == .infinity && PortableMath.exp(89) == .infinity)
        #expect(PortableMath.exp(-.infinity) == 0 && PortableMath.exp(-104) == 0)
        #expect(PortableMath.exp(-100).isSubnormal)
        #expect(PortableMath.exp(.nan).isNaN && PortableMath.log(.nan).isNaN && PortableMath.tanh(.nan).isNaN && PortableMath.sigmoid(.nan).isNaN)
        #expect(PortableMath.tanh(0).bitPattern == 0 && PortableMath.tanh(-0.0).bitPattern == 0x8000_0000)
        #expect(PortableMath.tanh(.infinity) == 1 && PortableMath.tanh(-.infinity) == -1 && PortableMath.tanh(20) == 1)
        #expect(PortableMath.tanh(0x1p-149) == 0x1p-149)
        #expect(PortableMath.sigmoid(.infinity) == 1 && PortableMath.sigmoid(-.infinity) == 0 && PortableMath.sigmoid(0) == 0.5)
        #expect(PortableMath.log(1) == 0 && PortableMath.log(0) == -.infinity && PortableMath.log(-0.0) == -.infinity)
        #expect(PortableMath.log(-1).isNaN && PortableMath.log(.infinity) == .infinity)
        #expect(abs(Double(PortableMath.log(0x1p-149)) - (-149 * M_LN2)) < 1e-4)
    }

    /// |got − exact| in units of the float ulp at the exact value.
    static func ulpError(_ got: Float, _ exact: Double) -> Double {
        if exact.isNaN { return got.isNaN ? 0 : .infinity }
        let rounded = Float(exact)
        if rounded.isInfinite { return got == rounded ? 0 : .infinity }
        return abs(Double(got) - exact) / Double(rounded.magnitude.ulp)
    }

    @Test("The 16-lane versions give each lane the scalar function's bits (a million inputs, NaN payloads, specials)",
          arguments: ["exp", "sigmoid", "tanh"])
    func lanesMatchScalar(_ name: String) {
        let scalar: (Float) -> Float, lanes: (PortableMath.Lanes) -> PortableMath.Lanes
        switch name {
        case "exp": scalar = { PortableMath.exp($0) }; lanes = { PortableMath.exp($0) }
        case "sigmoid": scalar = { PortableMath.sigmoid($0) }; lanes = { PortableMath.sigmoid($0) }
        default: scalar = { PortableMath.tanh($0) }; lanes = { PortableMath.tanh($0) }
        }
        let nans: [Float] = [.nan, -.nan, Float(bitPattern: 0x7fc0_1234), Float(bitPattern: 0xffa0_0001), .signalingNaN]
        var inputs = Self.edges + nans + [.infinity, -.infinity, 88.7, 88.8, -103.9, -104, 0.5999999, 0.6, -0.6]
        inputs += stride(from: UInt32(0), to: UInt32.max - 4096, by: 4093).map { Float(bitPattern: $0) }
        while inputs.count % 16 != 0 { inputs.append(1) }
        var mismatches = 0, first = ""
        for start in stride(from: 0, to: inputs.count, by: 16) {
            var v = PortableMath.Lanes()
            for l in 0..<16 { v[l] = inputs[start + l] }
            let out = lanes(v)
            for l in 0..<16 where out[l].bitPattern != scalar(inputs[start + l]).bitPattern {
                mismatches += 1
                if first.isEmpty { first = "\(inputs[start + l]) (bits \(String(inputs[start + l].bitPattern, radix: 16))): lanes \(out[l]), scalar \(scalar(inputs[start + l]))" }
            }
        }
        #expect(inputs.count > 1_000_000)
        #expect(mismatches == 0, "\(name): \(mismatches) lanes differ; first \(first)")
    }

    @Test("Error against Double stays inside the documented bound", arguments: ["exp", "log", "sigmoid", "tanh"])
    func accuracy(_ name: String) throws {
        let bound = try #require(PortableMath.documentedMaxUlp[name])
        var worst = 0.0, at: Float = 0
        for x in Self.sweep {
            let (got, exact): (Float, Double)
            switch name {
            case "exp": (got, exact) = (PortableMath.exp(x), Foundation.exp(Double(x)))
            case "log": (got, exact) = (PortableMath.log(x), x < 0 ? .nan : Foundation.log(Double(x)))
            case "sigmoid": (got, exact) = (PortableMath.sigmoid(x), 1 / (1 + Foundation.exp(-Double(x))))
            default: (got, exact) = (PortableMath.tanh(x), Foundation.tanh(Double(x)))
            }
            let e = Self.ulpError(got, exact)
            if e > worst { worst = e; at = x }
        }
        print("portable \(name): max error \(String(format: "%.3f", worst)) ulp at \(at) over \(Self.sweep.count) inputs")
        #expect(worst <= bound, "\(name) max error \(worst) ulp at \(at) (bit pattern \(String(at.bitPattern, radix: 16)))")
    }

    @Test("The OpenCL twins give the same bits over ~2 million inputs", arguments: [UnaryOp.exp, .log, .sigmoid, .tanh, .relu])
    func identityOnOpenCL(_ op: UnaryOp) throws {
        guard let device = TestDevices.openCL() else { return }
        let x = try device.buffer(Self.sweep), y = try device.allocate(Self.sweep.count)
        try device.unary(op, x: x.view, y: y.view)
        let got: [UInt32] = try device.download(y.view, as: UInt32.self)
        var first: Int? = nil, differing = 0
        for (i, v) in Self.sweep.enumerated() {
            let cpu = (op == .exp ? PortableMath.exp(v) : op == .log ? PortableMath.log(v) : op == .sigmoid ? PortableMath.sigmoid(v)
                       : op == .tanh ? PortableMath.tanh(v) : (v > 0 ? v : (v.isNaN ? v : 0)))
            let same = cpu.bitPattern == got[i] || (cpu.isNaN && Float(bitPattern: got[i]).isNaN)
            if !same { differing += 1; first = first ?? i }
        }
        #expect(differing == 0, "\(differing) differ, first at input \(first.map { Self.sweep[$0] } ?? 0)")
    }

    @Test("Philox-4x32-10 matches the Random123 known-answer vectors")
    func philoxKnownAnswers() {
        let zero = Philox.block(counter: (0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox.block(counter: (.max, .max, .max, .max), key: (.max, .max))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox.block(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
        #expect(Philox.bits(seed: 0, stream: 0, position: 2) == 0xbc57_ac4c)
    }

    @Test("Philox draws on the OpenCL device equal the host's: dropout masks match a host recomputation")
    func dropoutMaskMatchesHost() throws {
        guard let device = TestDevices.openCL() else { return }
        let n = 10_000, p: Float = 0.25, seed: UInt64 = 0xDEAD_BEEF_1234, stream: UInt64 = 77
        let x = try device.buffer([Float](repeating: 1, count: n)), y = try device.allocate(n)
        try device.dropout(seed: seed, stream: stream, p: p, x: x.view, y: y.view)
        let got = try device.download(y.view)
        let threshold = UInt32((Double(p) * 16_777_216).rounded(.up))
        let expected = (0..<n).map { Philox.bits(seed: seed, stream: stream, position: UInt32($0)) >> 8 >= threshold ? 1 / (1 - p) : Float(0) }
        #expect(bits(got) == bits(expected))
        let kept = got.filter { $0 != 0 }.count
        #expect(abs(Double(kept) / Double(n) - 0.75) < 0.02)
    }
}
