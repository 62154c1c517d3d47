/// One op case of the catalogue: a named op, a shape, and a body that makes its inputs from a
/// seed, runs the op on a device, and returns every output's bit patterns. Run on two devices,
/// the outputs must match bit for bit (any NaN matches any NaN).
public struct OpCase: Sendable, CustomStringConvertible {
    /// The op's name (`matmul`, `lstm_forward`, ...).
    public let op: String
    /// The shape and start mode, for messages.
    public let label: String
    let body: @Sendable (OpRun) throws -> Void

    /// A case: `body` allocates inputs and outputs through the `OpRun` and runs the op.
    public init(_ op: String, _ label: String, _ body: @escaping @Sendable (OpRun) throws -> Void) {
        self.op = op; self.label = label; self.body = body
    }

    /// `op label`.
    public var description: String { "\(op) \(label)" }

    /// Runs the case on `device` with inputs drawn from `seed`; returns each output's bits.
    public func run(on device: Device, seed: UInt64) throws -> [[UInt32]] {
        let run = OpRun(device: device, seed: seed)
        try body(run)
        return try run.results()
    }
}

/// The inputs and outputs of one case on one device. Outputs are poisoned first, so an element an
/// op fails to write is caught (`OpComparison.unwritten`).
public final class OpRun {
    /// The device the case runs on.
    public let device: Device
    var rng: PhiloxStream
    var outputs: [View] = []
    /// The bit pattern every output starts as: a signalling NaN no op produces.
    public static let poison: UInt32 = 0x7fba_dbad

    init(device: Device, seed: UInt64) {
        self.device = device
        rng = PhiloxStream(seed: seed, stream: 0xCA7A_1096)
    }

    /// n random floats in [lo, hi); with `special`, about one in eight is ±0, a subnormal,
    /// a huge value or a value that under- or overflows exp.
    public func input(_ n: Int, _ lo: Float = -1, _ hi: Float = 1, special: Bool = false) throws -> View {
        try device.buffer(floats(n, lo, hi, special: special)).view
    }

    /// n values uniform in [lo, hi) from the run's seed; with `special`, one in eight is a special value (±0, subnormal, huge, exp's limits).
    public func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1, special: Bool = false) -> [Float] {
        (0..<n).map { _ in
            let v = rng.float(lo, hi)
            guard special, rng.next() % 8 == 0 else { return v }
            let specials: [Float] = [0, -0.0, v * 0x1p-130, -v * 0x1p-140, 0x1p-149, v * 1e30, 95, -110, .leastNormalMagnitude]
            return specials[Int(rng.next() % UInt32(specials.count))]
        }
    }

    /// n random Int32 in range.
    public func ints(_ n: Int, _ range: ClosedRange<Int>) throws -> View {
        try device.buffer((0..<n).map { _ in Int32(rng.int(in: range)) }).view
    }

    /// A poisoned output of n elements.
    public func output(_ n: Int) throws -> View {
        let v = try device.allocate(n).view
        try device.fill(v, bits: Self.poison)
        outputs.append(v)
        return v
    }

    /// An output that starts with random values (ops that accumulate or update in place).
    public func state(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) throws -> View {
        let v = try input(n, lo, hi)
        outputs.append(v)
        return v
    }

    func results() throws -> [[UInt32]] { try outputs.map { try device.download($0, as: UInt32.self) } }
}

/// How two devices' outputs of one case compare.
public struct OpComparison: Sendable {
    /// Every output bit-identical (NaN payloads included) and written on both sides.
    public var identical = true
    /// Largest distance in units in the last place between two non-NaN outputs.
    public var maxUlp: UInt64 = 0
    /// (output, element) of the first difference.
    public var firstDifference: (output: Int, index: Int)? = nil
    /// Elements still holding the poison pattern on either device.
    public var unwritten = 0

    /// Compares two runs' outputs.
    public init(_ a: [[UInt32]], _ b: [[UInt32]]) {
        guard a.count == b.count else { identical = false; firstDifference = (0, 0); return }
        for (o, (x, y)) in zip(a, b).enumerated() {
            guard x.count == y.count else { identical = false; firstDifference = firstDifference ?? (o, 0); continue }
            for i in 0..<x.count {
                if x[i] == OpRun.poison || y[i] == OpRun.poison { unwritten += 1 }
                let nanX = x[i] & 0x7fff_ffff > 0x7f80_0000, nanY = y[i] & 0x7fff_ffff > 0x7f80_0000
                if x[i] == y[i] || (nanX && nanY) { continue }
                identical = false
                if firstDifference == nil { firstDifference = (o, i) }
                maxUlp = max(maxUlp, nanX || nanY ? UInt64(UInt32.max) : Self.ulps(x[i], y[i]))
            }
        }
        if unwritten > 0 { identical = false }
    }

    static func ulps(_ a: UInt32, _ b: UInt32) -> UInt64 {
        func ordered(_ v: UInt32) -> Int64 { v >> 31 == 1 ? -Int64(v & 0x7fff_ffff) : Int64(v) }
        return UInt64(abs(ordered(a) - ordered(b)))
    }
}
