/// FNV-1a, 64-bit: the hash behind the program-cache key and the checkpoint checksums.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }

    /// Adds the elements' bytes after their count, so consecutive arrays cannot run together.
    mutating func add<T: BitwiseCopyable>(array: [T]) {
        withUnsafeBytes(of: UInt64(array.count).littleEndian) { add($0) }
        array.withUnsafeBytes { add($0) }
    }

    /// The value in hexadecimal, as checkpoints store it.
    var hex: String { String(value, radix: 16) }

    static func hash(_ s: String) -> UInt64 {
        var h = FNV1a()
        h.add(s.utf8)
        return h.value
    }
}
