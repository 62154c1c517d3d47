/// Batched matrix product C[b] = start + A[b]·B[b], row-major.
/// A is m×k (stored k×m when `transA`), B is k×n (stored n×k when `transB`), C is m×n.
/// Leading dimensions are the stored row lengths; a batch stride of 0 broadcasts that operand.
/// Every output is one fma chain over k = 0 ..< K from the starting value (NUMERICS rule 2).
public struct MatmulShape: Sendable, Hashable, Codable {
    /// Batch count and the product's sizes: C is m×n, the chains run over k.
    public var batch, m, n, k: Int
    /// Whether A (B) is stored transposed.
    public var transA, transB: Bool
    /// Stored row lengths of A, B and C.
    public var lda, ldb, ldc: Int
    /// Elements between batch entries (0 broadcasts that operand).
    public var strideA, strideB, strideC: Int

    /// A shape with packed defaults: leading dimensions the stored row lengths, strides one matrix.
    public init(batch: Int = 1, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
                strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil) {
        self.batch = batch; self.m = m; self.n = n; self.k = k
        self.transA = transA; self.transB = transB
        let la = lda ?? (transA ? m : k), lb = ldb ?? (transB ? k : n), lc = ldc ?? n
        self.lda = la; self.ldb = lb; self.ldc = lc
        self.strideA = strideA ?? (transA ? k * la : m * la)
        self.strideB = strideB ?? (transB ? n * lb : k * lb)
        self.strideC = strideC ?? m * lc
    }

    /// Elements each operand's view must hold.
    public var extentA: Int { (batch - 1) * strideA + (transA ? (k - 1) * lda + m : (m - 1) * lda + k) }
    /// Elements B's view must hold.
    public var extentB: Int { (batch - 1) * strideB + (transB ? (n - 1) * ldb + k : (k - 1) * ldb + n) }
    /// Elements C's view must hold.
    public var extentC: Int { (batch - 1) * strideC + (m - 1) * ldc + n }
    /// 2·batch·m·n·k.
    public var flops: Double { 2 * Double(batch) * Double(m) * Double(n) * Double(k) }
}

/// Where a matmul's chains start: +0, the existing C, or a bias of length n added to every row.
public enum MatmulStart: Sendable {
    case zero
    case accumulate
    case bias(View)

    var mode: Int32 {
        switch self {
        case .zero: 0
        case .accumulate: 1
        case .bias: 2
        }
    }
}

/// 1D convolution over x (B, C_in, T) with weight (C_out, C_in, K) and bias (C_out), giving
/// y (B, C_out, T_out), T_out = (T + 2·padding − dilation·(K−1) − 1) / stride + 1.
/// y[b,o,t] chains from bias[o] over c = 0..<C_in, then k = 0..<K, skipping padded positions.
public struct Conv1DShape: Sendable, Hashable, Codable {
    /// Batch, channels in and out, input length and kernel width.
    public var batch, inChannels, outChannels, length, kernel: Int
    /// As in PyTorch's Conv1d.
    public var stride, padding, dilation: Int
    /// A convolution shape; stride 1, no padding and dilation 1 by default.
    public init(batch: Int, inChannels: Int, outChannels: Int, length: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.length = length; self.kernel = kernel
        self.stride = stride; self.padding = padding; self.dilation = dilation
    }
    /// Output positions.
    public var outLength: Int { (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1 }
    var xCount: Int { batch * inChannels * length }
    var wCount: Int { outChannels * inChannels * kernel }
    var yCount: Int { batch * outChannels * outLength }
    /// Multiply-adds of the forward pass, times two.
    public var flops: Double { 2 * Double(batch * outChannels * outLength) * Double(inChannels * kernel) }
}

/// A convolution over embedded tokens computed from the tokens (`Device.tokenConvForward`): tokens
/// (B, T) from a vocabulary of `vocab`, `filters` outputs per position, width `kernel`, stride 1,
/// no padding; T_out = T − kernel + 1.
public struct TokenConvShape: Sendable, Hashable, Codable {
    /// Batch, sequence length, vocabulary, filters and kernel width.
    public var batch, length, vocab, filters, kernel: Int
    /// A token convolution shape.
    public init(batch: Int, length: Int, vocab: Int, filters: Int, kernel: Int) {
        self.batch = batch; self.length = length; self.vocab = vocab; self.filters = filters; self.kernel = kernel
    }
    /// Output positions.
    public var outLength: Int { length - kernel + 1 }
    var tableCount: Int { vocab * kernel * filters }
    var yCount: Int { batch * outLength * filters }
}

/// Max-pool over time: x (B, C, T) → y (B, C, T_out) with windows of `window` steps every
/// `stride` steps, T_out = (T − window) / stride + 1. A window of T pools the whole sequence.
/// The first index wins ties; a NaN wins over numbers (NUMERICS rule 6).
public struct PoolShape: Sendable, Hashable, Codable {
    /// Rows pooled, their length, window and stride.
    public var batch, channels, length, window, stride: Int
    /// A pooling shape; the stride defaults to the window.
    public init(batch: Int, channels: Int, length: Int, window: Int, stride: Int? = nil) {
        self.batch = batch; self.channels = channels; self.length = length
        self.window = window; self.stride = stride ?? window
    }
    /// Output positions.
    public var outLength: Int { (length - window) / stride + 1 }
}

/// Elementwise functions of one input.
public enum UnaryOp: Int32, Sendable, CaseIterable, Codable {
    /// y = alpha·x
    case scale = 0
    /// y = x > 0 ? x : +0 (NaN propagates)
    case relu = 1
    case tanh = 2
    case sigmoid = 3
    case exp = 4
    case log = 5
}

/// Elementwise functions of two inputs: y = a ∘ b; `axpy` is y = fma(alpha, a, b).
public enum BinaryOp: Int32, Sendable, CaseIterable, Codable {
    case add = 0, sub = 1, mul = 2, axpy = 3
}

/// The plain recurrent cell's nonlinearity.
public enum RNNActivation: Int32, Sendable, Codable {
    case tanh = 2
    case relu = 1
    var unary: UnaryOp { self == .tanh ? .tanh : .relu }
}

/// What the two-level reduction sums: x, x², or (x − y)².
public enum ReduceMode: Int32, Sendable {
    case sum = 0, sumOfSquares = 1, squaredDifference = 2
}

/// Hyper-parameters of one SGD step (PyTorch semantics, dampening 0).
public struct SGDParams: Sendable, Codable, Equatable {
    /// Learning rate, momentum, L2 weight decay, Nesterov.
    public var lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool
    /// SGD hyper-parameters.
    public init(lr: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.lr = lr; self.momentum = momentum; self.weightDecay = weightDecay; self.nesterov = nesterov
    }
}

/// Hyper-parameters of one Adam / AdamW step at step `t` (1-based).
public struct AdamParams: Sendable, Codable, Equatable {
    /// Learning rate, moment decays, epsilon, weight decay.
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// AdamW: weight decay applied to the parameter, not added to the gradient.
    public var decoupled: Bool
    /// Adam hyper-parameters (PyTorch's defaults); `decoupled` makes it AdamW.
    public init(lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay; self.decoupled = decoupled
    }
}
