/// The device protocol: an allocator (allocate, write, read, fill), a synchronize, and every op
/// training needs. The CPU device and the OpenCL device both implement all of it, with the same
/// arithmetic to the bit. Callers go through `Device`, which checks shapes and ownership first,
/// so a backend sees only views that are large enough and its own.
///
/// Int32 data (token indices, class targets, argmax positions) lives in the same four-byte buffers.
protocol DeviceBackend: AnyObject, Sendable {
    var info: DeviceInfo { get }
    /// Allocations and host waits so far.
    var activity: ActivityCounter { get }

    // Allocator.
    func allocate(count: Int) throws -> Buffer
    func write(_ source: UnsafeRawBufferPointer, to: View) throws
    func read(_ view: View, into: UnsafeMutableRawBufferPointer) throws
    func fill(_ view: View, bits: UInt32) throws
    /// Waits until every enqueued op has finished.
    func synchronize() throws
    /// Scratch `op` needs at its largest (`ScratchOp`); none by default.
    func scratchNeed(_ op: ScratchOp) -> ScratchNeed
    /// Makes the device's scratch at least `need`, so ops needing no more allocate nothing later.
    func reserveScratch(_ need: ScratchNeed) throws
    /// The scratch the device holds now.
    var scratchSize: ScratchNeed { get }
    /// Runs `body` over parts of the batch rows 0 ..< b, each part's ops touching only its rows; a
    /// backend that gains nothing from parts runs `body(0 ..< b)` (the default). `weights`: floats of
    /// the weights every step reads.
    func rowParts(_ b: Int, weights: Int, _ body: (Range<Int>) throws -> Void) throws

    // Dense algebra.
    func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws
    /// Products pack B into panels of this many columns (`DeviceFacts.packPanel`); 0 where they read B as stored.
    var packPanel: Int { get }
    /// Whether products with a transposed B run about as fast as with B as stored, so recurrent layers
    /// need no transposed copies of their weights (the default: false).
    var readsTransposedB: Bool { get }
    /// Whether products over one step's rows run about as fast as one product over every step's, so a
    /// recurrent stack's backward makes each step's ∂h from the layer above as it goes instead of
    /// storing all of them (the default: false; see `StepGradient`).
    var stepwiseGradients: Bool { get }
    /// Packs B once for many products with the same B (`DeviceFacts.packedCount` floats into `into`).
    func packB(_ s: MatmulShape, b: View, into: View) throws
    /// `matmul` with B also available packed by `packB` (unchanged since): the same bits.
    func matmul(_ s: MatmulShape, a: View, b: View, packedB: View, c: View, start: MatmulStart) throws
    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws
    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws
    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws
    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws
    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws

    // Fused recurrent cells.
    func lstmForward(batch: Int, hidden: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws
    func lstmBackward(batch: Int, hidden: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?,
                      dGates: View, dcPrev: View) throws
    func gruForward(batch: Int, hidden: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws
    func gruBackward(batch: Int, hidden: Int, act: View, hPrev: View, dh: View,
                     dgi: View, dgh: View, dhPrev: View) throws

    // Embedding.
    func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws
    func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws
    func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws
    func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws

    // Elementwise.
    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws
    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws
    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws
    func scaleBy(factor: View, x: View, y: View) throws
    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws

    // Losses and reductions.
    func softmaxCrossEntropy(rows: Int, cols: Int, logits: View, targets: View, losses: View, stats: View) throws
    func softmaxCrossEntropyBackward(rows: Int, cols: Int, scale: Float, logits: View, targets: View,
                                     stats: View, dLogits: View) throws
    func reduce(_ mode: ReduceMode, x: View, y: View?, divisor: Float, out: View) throws
    func rowSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws
    func colSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws
    func argmaxRows(rows: Int, cols: Int, x: View, out: View) throws

    // Optimizers.
    func clipCoefficient(norms: View, maxNorm: Float, out: View) throws
    func sgd(_ p: SGDParams, param: View, grad: View, velocity: View?) throws
    func adam(_ p: AdamParams, corrections: (Float, Float), param: View, grad: View, m: View, v: View) throws

    // Data movement.
    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws
    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws
}

extension DeviceBackend {
    /// No device scratch.
    func scratchNeed(_ op: ScratchOp) -> ScratchNeed { ScratchNeed() }
    func reserveScratch(_ need: ScratchNeed) throws {}
    var scratchSize: ScratchNeed { ScratchNeed() }
    func rowParts(_ b: Int, weights: Int, _ body: (Range<Int>) throws -> Void) throws { try body(0..<b) }
    var packPanel: Int { 0 }
    var readsTransposedB: Bool { false }
    var stepwiseGradients: Bool { false }
    func packB(_ s: MatmulShape, b: View, into: View) throws {}
    func matmul(_ s: MatmulShape, a: View, b: View, packedB: View, c: View, start: MatmulStart) throws {
        try matmul(s, a: a, b: b, c: c, start: start)
    }
}
