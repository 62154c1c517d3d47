/// Philox-4x32-10 (Salmon et al., SC'11): the one counter-based generator behind every random draw
/// in Recur (NUMERICS rule 7). Kernels/common.cl has the same function, so a device draws the same
/// numbers as the CPU from (seed, stream, position) alone, with no shared state.
public enum Philox {
    /// The 32 random bits at `position` of stream `stream` under key `seed`.
    /// Counter = (position / 4, 0, stream.lo, stream.hi), key = (seed.lo, seed.hi), word = position % 4.
    @inlinable
    public static func bits(seed: UInt64, stream: UInt64, position: UInt32) -> UInt32 {
        let out = block(counter: (position >> 2, 0, UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                        key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        switch position & 3 {
        case 0: return out.0
        case 1: return out.1
        case 2: return out.2
        default: return out.3
        }
    }

    /// One Philox-4x32-10 block: ten rounds over the counter with the key bumped between rounds.
    @inlinable
    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let (hi0, lo0) = UInt32(0xD251_1F53).multipliedFullWidth(by: c0)
            let (hi1, lo1) = UInt32(0xCD9E_8D57).multipliedFullWidth(by: c2)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    /// A uniform float in [0, 1) with 24 random bits: (bits >> 8) · 2^-24, exact.
    @inlinable
    public static func uniform(seed: UInt64, stream: UInt64, position: UInt32) -> Float {
        Float(bits(seed: seed, stream: stream, position: position) >> 8) * 0x1p-24
    }
}

/// A sequential host-side stream over Philox, for shapes, shuffles and test data.
public struct PhiloxStream: Sendable {
    /// The key.
    public let seed: UInt64
    /// Which independent stream of the key.
    public let stream: UInt64
    /// Draws taken so far.
    public private(set) var position: UInt32 = 0
    /// Stream `stream` of key `seed`, from its start.
    public init(seed: UInt64, stream: UInt64 = 0) { self.seed = seed; self.stream = stream }

    /// The next 32 random bits.
    public mutating func next() -> UInt32 {
        defer { position &+= 1 }
        return Philox.bits(seed: seed, stream: stream, position: position)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 8) * 0x1p-24 }
    /// Uniform integer in `range` (modulo draw; the bias is irrelevant for shapes and shuffles).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt32(range.count))
    }
    /// Uniform float in [lo, hi).
    public mutating func float(_ lo: Float, _ hi: Float) -> Float { fusedMultiplyAdd(uniform(), hi - lo, lo) }
}
