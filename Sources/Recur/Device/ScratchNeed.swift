/// An op whose launches may use a device's scratch, at the largest shape it will be run with.
public enum ScratchOp: Sendable {
    /// A product (any m up to `m`).
    case matmul(MatmulShape)
    case conv1dBackwardData(Conv1DShape)
    case conv1dBackwardWeight(Conv1DShape)
    /// A per-token sum over `tokens` positions of a `vocab`-token vocabulary (embedding and token-conv backward).
    case tokenOrder(tokens: Int, vocab: Int)
    /// A reduction over `count` elements.
    case reduce(count: Int)
}

/// Elements of a device's two scratch buffers: a transposed operand, and partial sums or token order.
public struct ScratchNeed: Sendable, Equatable {
    public var transposed = 0, partials = 0

    /// The larger of each.
    mutating func cover(_ other: ScratchNeed) {
        transposed = max(transposed, other.transposed)
        partials = max(partials, other.partials)
    }
}
