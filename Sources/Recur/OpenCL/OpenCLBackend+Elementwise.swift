import Foundation

/// Elementwise ops, dropout and data movement; twin of CPUBackend+Elementwise.swift.
extension OpenCLBackend {
    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws {
        // tanh and sigmoid: 16 per work-item on the whole vectors, the rest (under 16) one by one
        let n16 = cells16 && (op == .tanh || op == .sigmoid) ? x.count / 16 : 0
        if n16 > 0 { try launch("unary16", [n16], [.int(Int(op.rawValue)), .int(n16), .view(x), .view(y)]) }
        let rest = x.count - 16 * n16
        if rest > 0 || n16 == 0 {
            try launch("unary", [rest], [.int(Int(op.rawValue)), .float(alpha), .int(rest), .view(x.slice(16 * n16, rest)), .view(y.slice(16 * n16, rest))])
        }
    }

    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {
        try launch("unary_backward", [dy.count], [.int(Int(op.rawValue)), .int(dy.count), .view(saved), .view(dy), .view(dx)])
    }

    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws {
        try launch("binary", [a.count], [.int(Int(op.rawValue)), .float(alpha), .int(a.count), .view(a), .view(b), .view(y)])
    }

    func scaleBy(factor: View, x: View, y: View) throws {
        try launch("scale_by", [x.count], [.int(x.count), .view(factor), .view(x), .view(y)])
    }

    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws {
        try launch("dropout", [x.count],
                   [.uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                    .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                    .uint(threshold), .float(scale), .int(x.count), .view(x), .view(y)])
    }

    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {
        try launch("copy2d", [cols, rows], [.int(rows), .int(cols), .view(src), .int(srcStride), .view(dst), .int(dstStride)])
    }

    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws {
        try launch("transpose", [rows, cols, batch], [.int(rows), .int(cols), .view(src), .view(dst)])
    }
}
