import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to {dtype, shape, data_offsets} plus "__metadata__" (string → string), then the data.
/// Recur writes F32 and I32 tensors with a deterministic header (sorted keys, fixed order of data),
/// so the same state gives the same bytes; the reader validates everything before trusting it.
public enum Safetensors {
    /// One tensor: dtype, shape and the raw four-byte elements.
    public struct Tensor: Equatable, Sendable {
        /// `F32` or `I32`.
        public var dtype: String    // "F32" or "I32"
        /// Dimensions.
        public var shape: [Int]
        /// The elements' bit patterns, row-major.
        public var bits: [UInt32]
        /// An F32 tensor.
        public init(_ values: [Float], shape: [Int]) { dtype = "F32"; self.shape = shape; bits = values.map(\.bitPattern) }
        /// A tensor from raw elements.
        public init(bits: [UInt32], dtype: String, shape: [Int]) { self.dtype = dtype; self.shape = shape; self.bits = bits }
        /// The elements as floats.
        public var floats: [Float] { bits.map(Float.init(bitPattern:)) }
    }

    /// A file that is not valid safetensors; the message says where.
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        /// One line.
        public let description: String
        init(_ s: String) { description = s }
    }

    /// Serialises tensors (data in the order given) and metadata.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String]) -> Data {
        var entries: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(json($0)):\(json(metadata[$0]!))" }.joined(separator: ",")
            entries.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        var byName: [String: String] = [:]
        for (name, t) in tensors {
            let end = offset + t.bits.count * 4
            byName[name] = "\(json(name)):{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        entries += byName.keys.sorted().map { byName[$0]! }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for (_, t) in tensors {
            t.bits.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: UInt8.self) { out.append($0) }   // little-endian hosts (x86-64, aarch64)
            }
        }
        return out
    }

    static func json(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\t": r += "\\t"
            case "\r": r += "\\r"
            default:
                if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
            }
        }
        return r + "\""
    }

    /// Parses and validates: header length within the file, JSON header, F32/I32 only, shapes that
    /// match their byte ranges, ranges inside the data and not overlapping.
    /// The longest header a reader accepts: far above any real model's, far below memory.
    static let maxHeaderBytes: UInt64 = 100_000_000

    /// Where the tensor data ends (the largest end offset in `header`), nil when the header is not a
    /// JSON object; malformed entries count as 0 (`decode` reports them).
    static func dataEnd(_ header: Data) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: header), let entries = object as? [String: Any] else { return nil }
        return entries.values.reduce(0) { end, value in
            guard let offsets = (value as? [String: Any])?["data_offsets"] as? [Int], offsets.count == 2 else { return end }
            return max(end, offsets[1])
        }
    }

    public static func decode(_ data: Data) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw FormatError("not a safetensors file (\(data.count) bytes, shorter than its 8-byte header length)") }
        let n = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else { throw FormatError("header length \(n) is larger than the file (\(data.count) bytes): truncated or not safetensors") }
        let headerBytes = data.subdata(in: 8..<(8 + Int(n)))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw FormatError("header is not a JSON object")
        }
        let dataStart = 8 + Int(n), dataCount = data.count - dataStart
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: String] else { throw FormatError("__metadata__ is not a map of strings") }
            metadata = dict
        }
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let t = value as? [String: Any], let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int],
                  let offsets = t["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FormatError("tensor \(name): malformed entry")
            }
            guard dtype == "F32" || dtype == "I32" else { throw FormatError("tensor \(name): dtype \(dtype) is not supported (F32, I32)") }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw FormatError("tensor \(name): bad shape \(shape)") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataCount else {
                throw FormatError("tensor \(name): data offsets [\(begin), \(end)] outside the \(dataCount) data bytes")
            }
            let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard elements != Int.max, elements * 4 == end - begin else {
                throw FormatError("tensor \(name): shape \(shape) needs \(elements == Int.max ? 0 : elements * 4) bytes, offsets give \(end - begin)")
            }
            ranges.append((begin, end, name))
            var bits = [UInt32](repeating: 0, count: elements)
            bits.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(dataStart + begin)..<(dataStart + end)])) }
            }
            tensors[name] = Tensor(bits: bits.map { UInt32(littleEndian: $0) }, dtype: dtype, shape: shape)
        }
        ranges.sort { $0.0 < $1.0 }
        for i in ranges.indices.dropFirst() where ranges[i].0 < ranges[i - 1].1 {
            throw FormatError("tensors \(ranges[i - 1].2) and \(ranges[i].2) overlap")
        }
        return (tensors, metadata)
    }

    /// FNV-1a 64 of the tensors' bits in name order: the checksum stored in the metadata.
    public static func checksum(_ tensors: [String: Tensor]) -> String {
        var h = FNV1a()
        for name in tensors.keys.sorted() {
            h.add(name.utf8)
            for v in tensors[name]!.bits { h.add(stride(from: 0, to: 32, by: 8).lazy.map { UInt8(truncatingIfNeeded: v >> UInt32($0)) }) }
        }
        return String(h.value, radix: 16)
    }
}
