/// One batch on the host, batch-major: row i of b is one sequence of T steps.
public struct Batch: Sendable {
    /// Time steps.
    public var T: Int
    /// Sequences.
    public var b: Int
    /// (b, T) token ids (language model and classifier).
    public var tokens: [Int32] = []
    /// (b, T, inputs) numeric features (regressor).
    public var values: [Float] = []
    /// Language model: (b, T) next tokens; classifier: (b) classes.
    public var labels: [Int32] = []
    /// Regressor: (b, outputs) targets.
    public var targets: [Float] = []

    /// An empty batch of b sequences of T steps; fill the arrays the family needs.
    public init(T: Int, b: Int) { self.T = T; self.b = b }

    /// (b, T, w) batch-major → (T, b, w) time-major.
    static func timeMajor<E>(_ x: [E], T: Int, b: Int, width w: Int = 1) -> [E] {
        var out = x
        for i in 0..<b { for t in 0..<T { for k in 0..<w { out[(t * b + i) * w + k] = x[(i * T + t) * w + k] } } }
        return out
    }
}
