/// A device that allocates nothing and runs nothing: it records the buffers a construction asks
/// for, answering every question about the data flow (`packedCount`, `readsTransposedB`,
/// `stepwiseGradients`, limits) as the device it stands in for does, so a model built on it asks for
/// exactly the buffers it would ask of that device. Reads give zeros.
final class CountingBackend: DeviceBackend, @unchecked Sendable {
    let real: any DeviceBackend
    let activity = ActivityCounter()
    var info: DeviceInfo { real.info }

    init(standingInFor real: any DeviceBackend) { self.real = real }

    /// A buffer with no memory behind it (one float, never read or written: every op is a no-op).
    func allocate(count: Int) throws -> Buffer {
        activity.allocated(bytes: count * 4)
        return Buffer(count: count, storage: .host(.allocate(capacity: 1)), owner: ObjectIdentifier(self))
    }

    func write(_ source: UnsafeRawBufferPointer, to: View) throws {}
    func read(_ view: View, into: UnsafeMutableRawBufferPointer) throws { into.initializeMemory(as: UInt8.self, repeating: 0) }
    func fill(_ view: View, bits: UInt32) throws {}
    func synchronize() throws {}

    func packedCount(n: Int, k: Int) -> Int { real.packedCount(n: n, k: k) }
    var readsTransposedB: Bool { real.readsTransposedB }
    var stepwiseGradients: Bool { real.stepwiseGradients }

    func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws {}
    func packB(_ s: MatmulShape, b: View, into: View) throws {}
    func matmul(_ s: MatmulShape, a: View, b: View, packedB: View, c: View, start: MatmulStart) throws {}
    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {}
    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {}
    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {}
    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {}
    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {}
    func lstmForward(batch: Int, hidden: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws {}
    func lstmBackward(batch: Int, hidden: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?, dGates: View, dcPrev: View) throws {}
    func gruForward(batch: Int, hidden: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws {}
    func gruBackward(batch: Int, hidden: Int, act: View, hPrev: View, dh: View, dgi: View, dgh: View, dhPrev: View) throws {}
    func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws {}
    func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws {}
    func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws {}
    func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws {}
    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws {}
    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {}
    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws {}
    func scaleBy(factor: View, x: View, y: View) throws {}
    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws {}
    func softmaxCrossEntropy(rows: Int, cols: Int, logits: View, targets: View, losses: View, stats: View) throws {}
    func softmaxCrossEntropyBackward(rows: Int, cols: Int, scale: Float, logits: View, targets: View, stats: View, dLogits: View) throws {}
    func reduce(_ mode: ReduceMode, x: View, y: View?, divisor: Float, out: View) throws {}
    func rowSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {}
    func colSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {}
    func argmaxRows(rows: Int, cols: Int, x: View, out: View) throws {}
    func clipCoefficient(norms: View, maxNorm: Float, out: View) throws {}
    func sgd(_ p: SGDParams, param: View, grad: View, velocity: View?) throws {}
    func adam(_ p: AdamParams, corrections: (Float, Float), param: View, grad: View, m: View, v: View) throws {}
    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {}
    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws {}
}
