/// Everything that defines a model's architecture; stored in checkpoint metadata.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// The three model families; each fixes the loss and how the head is applied.
    public enum Family: String, Codable, Sendable {
        /// embedding → recurrent stack → linear over the vocabulary at every step; cross-entropy.
        case languageModel = "charlm"
        /// embedding → (Conv1D bank → ReLU → max over time | recurrent stack → last state) → dropout → linear; cross-entropy.
        case classifier
        /// numeric input vectors → recurrent stack → last state → linear; mean squared error.
        case regressor
    }
    /// The first layer after the embedding, computed from the tokens. A token's row of x·W_ihᵀ is
    /// row v of E·W_ihᵀ (the same chain, the same bits), so a folded recurrent layer 0 computes the
    /// (vocab × G·H) table once per batch and gathers it, instead of a (T·b × G·H) product; a folded
    /// conv bank computes each token's product with each tap (vocab × k·F) and sums k table rows per
    /// output. Backward sums the output gradients per token (positions ascending) and gets ∂E and the
    /// weights' gradients from vocab-sized products. Recurrent forward bits are the same either way;
    /// the conv forward (another association) and every gradient differ in their last bits from
    /// the unfolded ones, identically on every device.
    public enum EmbeddingFold: String, Codable, Sendable, CaseIterable {
        /// Fold batches with at least 2·vocab tokens (where the products are smaller).
        case auto
        /// Fold every batch.
        case always
        /// Project every position (T·b rows), as PyTorch does.
        case never
    }
    /// Classifiers: a recurrent stack or a Conv1D bank.
    public enum Encoder: String, Codable, Sendable { case recurrent, cnn }

    /// Which family.
    public var family: Family
    /// Recurrent stack (every family) or Conv1D bank (classifier).
    public var encoder: Encoder = .recurrent
    /// The recurrent cell.
    public var cell: CellKind = .lstm
    /// Token vocabulary (0 for the regressor).
    public var vocab: Int = 0
    /// Numeric features per step (regressor).
    public var inputs: Int = 1
    /// Embedding width.
    public var embedding: Int = 64
    /// Recurrent hidden size.
    public var hidden: Int = 128
    /// Recurrent layers.
    public var layers: Int = 1
    /// Dropout between recurrent layers, and before the classifier's linear layer.
    public var dropout: Float = 0
    /// Classes (classifier) or outputs (regressor: 1).
    public var outputs: Int = 1
    /// Conv1D widths (one bank per width).
    public var convWidths: [Int] = [3, 4, 5]
    /// Conv1D filters per width.
    public var convFilters: Int = 100
    /// LSTM only: added to the forget-gate slice of bias_ih at initialisation (0: PyTorch's default init;
    /// 1 helps long-range memory, Jozefowicz et al. 2015).
    public var forgetBias: Float = 0
    /// How the first recurrent layer of a token model projects its input (see `EmbeddingFold`).
    public var embeddingFold: EmbeddingFold = .auto
    /// Largest batch the buffers are sized for.
    public var batch: Int = 32
    /// Longest sequence the buffers are sized for (truncated BPTT length for character models).
    public var sequence: Int = 64

    /// Defaults for `family`; set the sizes, or build from layers with `init(_:batch:sequence:layers:)`.
    public init(family: Family) { self.family = family }

    /// The most recurrent layers (and convolution widths) a model may have: far beyond any useful
    /// stack, and small enough that counting a model's buffers before building it stays instant.
    public static let maxLayers = 256

    /// Throws a one-line message naming the bad field.
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw ModelError.config(what) } }
        try need(batch > 0, "--batch must be positive, got \(batch)")
        try need(sequence > 0, "--seq must be positive, got \(sequence)")
        try need(hidden > 0, "--hidden must be positive, got \(hidden)")
        try need(layers > 0 && layers <= Self.maxLayers, "--layers must be in 1...\(Self.maxLayers), got \(layers)")
        try need(embedding > 0, "--embedding must be positive, got \(embedding)")
        try need(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got \(dropout)")
        try need(family == .regressor || vocab > 0, "the vocabulary is empty")
        try need(forgetBias.isFinite, "--forget-bias must be finite, got \(forgetBias)")
        try need(outputs > 0, "the model needs at least one output")
        try need(inputs > 0 || family != .regressor, "the regressor needs at least one input feature")
        // Every tensor and activation buffer must fit one buffer (2^31 - 1 elements); sizes are
        // multiplied in Double so an absurd config is refused, never an integer overflow.
        let (b, t, e, h, v) = (Double(batch), Double(sequence), Double(embedding), Double(hidden), Double(max(vocab, inputs)))
        let sizes: [(Double, String)] = [
            (v * e, "the embedding (vocabulary × embedding)"), (4 * h * max(e, h), "a recurrent weight (4 × hidden × max(embedding, hidden))"),
            (Double(outputs) * max(h, Double(convFilters) * Double(max(1, convWidths.count))), "the output layer's weight"),
            (b * t * 4 * h * Double(layers), "the recurrent activations (batch × sequence × 4 × hidden × layers)"),
            (b * t * max(v, Double(outputs)), "the logits (batch × sequence × vocabulary)"), (b * t * e, "the embedded input (batch × sequence × embedding)"),
            (Double(convFilters) * e * Double(convWidths.max() ?? 1), "a conv weight (filters × embedding × width)")]
        let (largest, what) = sizes.max { $0.0 < $1.0 }!
        try need(largest <= Double(Int32.max), "the model is too large: \(what) would hold \(largest) elements, more than one buffer (2^31 - 1)")
        if encoder == .cnn {
            try need(!convWidths.isEmpty && convWidths.allSatisfy { $0 > 0 && $0 <= sequence }, "--conv-widths must be positive and at most --seq (\(sequence)), got \(convWidths)")
            try need(convFilters > 0, "--filters must be positive, got \(convFilters)")
            try need(convWidths.count <= Self.maxLayers, "--conv-widths may list at most \(Self.maxLayers) widths, got \(convWidths.count)")
        }
    }
}

/// A configuration Recur cannot build; one line naming the field.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case config(String)
    /// The message.
    public var description: String {
        switch self { case .config(let s): s }
    }
}

extension ModelConfig {
    enum CodingKeys: String, CodingKey {
        case family, encoder, cell, vocab, inputs, embedding, hidden, layers, dropout, outputs, convWidths, convFilters, forgetBias, embeddingFold, batch, sequence
    }

    /// Fields missing from an older checkpoint take their defaults, so a config written before a field
    /// existed still loads.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(family: try c.decode(Family.self, forKey: .family))
        encoder = try c.decodeIfPresent(Encoder.self, forKey: .encoder) ?? encoder
        cell = try c.decodeIfPresent(CellKind.self, forKey: .cell) ?? cell
        vocab = try c.decodeIfPresent(Int.self, forKey: .vocab) ?? vocab
        inputs = try c.decodeIfPresent(Int.self, forKey: .inputs) ?? inputs
        embedding = try c.decodeIfPresent(Int.self, forKey: .embedding) ?? embedding
        hidden = try c.decodeIfPresent(Int.self, forKey: .hidden) ?? hidden
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? layers
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? dropout
        outputs = try c.decodeIfPresent(Int.self, forKey: .outputs) ?? outputs
        convWidths = try c.decodeIfPresent([Int].self, forKey: .convWidths) ?? convWidths
        convFilters = try c.decodeIfPresent(Int.self, forKey: .convFilters) ?? convFilters
        forgetBias = try c.decodeIfPresent(Float.self, forKey: .forgetBias) ?? forgetBias
        embeddingFold = try c.decodeIfPresent(EmbeddingFold.self, forKey: .embeddingFold) ?? embeddingFold
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        sequence = try c.decodeIfPresent(Int.self, forKey: .sequence) ?? sequence
    }
}
