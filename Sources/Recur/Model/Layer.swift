/// One layer of a model described in Swift, in the order data flows through it.
///
/// ```swift
/// let config = try ModelConfig(.nextToken, batch: 32, sequence: 64) {
///     Layer.embedding(vocab: 65, dim: 64)
///     Layer.lstm(hidden: 256, layers: 2, dropout: 0.1)
///     Layer.linear(outputs: 65)
/// }
/// let model = try Model(config, device: device, seed: 1)
/// ```
///
/// The layers must form one of the architectures Recur trains (see `ModelConfig.init(_:batch:sequence:layers:)`);
/// anything else is refused with a message naming the layer.
public enum Layer: Sendable, Equatable {
    /// Token ids → vectors of `dim`: PyTorch's nn.Embedding(vocab, dim).
    case embedding(vocab: Int, dim: Int)
    /// `features` numbers per time step as input (regression on series).
    case inputs(features: Int)
    /// A stack of `layers` recurrent layers of `hidden` units (nn.LSTM / nn.GRU / nn.RNN), with
    /// `dropout` between layers.
    case recurrent(CellKind, hidden: Int, layers: Int, dropout: Float)
    /// A bank of 1D convolutions over time, `filters` per width, each followed by ReLU and a max over
    /// time; the outputs are concatenated (Kim's text CNN).
    case conv1d(filters: Int, widths: [Int])
    /// Dropout with probability `p` (training only) before the final linear layer.
    case dropout(Float)
    /// The final nn.Linear to `outputs`.
    case linear(outputs: Int)

    /// An LSTM stack.
    public static func lstm(hidden: Int, layers: Int = 1, dropout: Float = 0) -> Layer { .recurrent(.lstm, hidden: hidden, layers: layers, dropout: dropout) }
    /// A GRU stack.
    public static func gru(hidden: Int, layers: Int = 1, dropout: Float = 0) -> Layer { .recurrent(.gru, hidden: hidden, layers: layers, dropout: dropout) }
    /// A plain RNN stack with tanh (or ReLU with `relu: true`).
    public static func rnn(hidden: Int, layers: Int = 1, dropout: Float = 0, relu: Bool = false) -> Layer {
        .recurrent(relu ? .rnnRelu : .rnn, hidden: hidden, layers: layers, dropout: dropout)
    }
}

/// Collects `Layer`s written one per line.
@resultBuilder
public enum LayerBuilder {
    /// One layer.
    public static func buildExpression(_ layer: Layer) -> [Layer] { [layer] }
    /// Layers in order.
    public static func buildBlock(_ parts: [Layer]...) -> [Layer] { parts.flatMap { $0 } }
    /// A layer under `if`.
    public static func buildOptional(_ part: [Layer]?) -> [Layer] { part ?? [] }
    /// The `if` branch.
    public static func buildEither(first part: [Layer]) -> [Layer] { part }
    /// The `else` branch.
    public static func buildEither(second part: [Layer]) -> [Layer] { part }
}

extension ModelConfig {
    /// What the model is trained to do; it decides the loss.
    public enum Objective: Sendable {
        /// Predict the next token at every step (cross-entropy over the vocabulary).
        case nextToken
        /// One class per sequence (cross-entropy).
        case classify
        /// Numbers per sequence (mean squared error).
        case regress
    }

    /// A configuration from layers. The architectures Recur trains:
    /// - `.nextToken`: embedding → recurrent → linear(outputs: vocab)
    /// - `.classify`: embedding → recurrent or conv1d → dropout (optional) → linear(outputs: classes)
    /// - `.regress`: inputs → recurrent → linear(outputs)
    ///
    /// Consecutive recurrent entries of one cell and size merge into one stack. Throws
    /// `ModelError.config` naming the layer that does not fit.
    public init(_ objective: Objective, batch: Int, sequence: Int, @LayerBuilder layers build: () -> [Layer]) throws {
        var rest = build()[...]
        func fail(_ why: String) -> ModelError { .config("layers: \(why)") }
        switch objective {
        case .nextToken: self.init(family: .languageModel)
        case .classify: self.init(family: .classifier)
        case .regress: self.init(family: .regressor)
        }
        self.batch = batch
        self.sequence = sequence
        guard let first = rest.popFirst() else { throw fail("no layers") }
        switch (objective, first) {
        case (.regress, .inputs(let features)): inputs = features
        case (.regress, _): throw fail("a regression model starts with .inputs(features:), not \(first)")
        case (_, .embedding(let v, let dim)): vocab = v; embedding = dim
        default: throw fail("a token model starts with .embedding(vocab:dim:), not \(first)")
        }
        var sawEncoder = false
        while let layer = rest.first, !isLinear(layer) {
            rest.removeFirst()
            switch layer {
            case .recurrent(let cell, let h, let n, let p):
                if sawEncoder && encoder == .recurrent && (cell != self.cell || h != hidden) {
                    throw fail("stacked recurrent layers must share one cell and size (\(self.cell) \(hidden), then \(cell) \(h))")
                }
                if sawEncoder && encoder == .cnn { throw fail("a recurrent layer after conv1d is not supported") }
                self.cell = cell
                hidden = h
                self.layers = sawEncoder ? self.layers + n : n
                if sawEncoder && p != dropout { throw fail("stacked recurrent layers must share one dropout") }
                dropout = p
                encoder = .recurrent
                sawEncoder = true
            case .conv1d(let f, let w):
                guard objective == .classify, !sawEncoder else { throw fail("conv1d is supported once, in a classifier, right after the embedding") }
                encoder = .cnn
                convFilters = f
                convWidths = w
                sawEncoder = true
            case .dropout(let p):
                guard objective == .classify, sawEncoder else { throw fail("dropout before the linear layer is supported in classifiers") }
                dropout = p
            default:
                throw fail("\(layer) cannot follow the encoder")
            }
        }
        guard sawEncoder else { throw fail("a recurrent (or, for a classifier, conv1d) layer must follow the input") }
        guard let last = rest.popFirst(), case .linear(let n) = last else { throw fail("the model ends with .linear(outputs:)") }
        guard rest.isEmpty else { throw fail("nothing may follow the final linear layer") }
        switch objective {
        case .nextToken:
            guard n == vocab else { throw fail("a next-token model's linear layer has vocab (\(vocab)) outputs, not \(n)") }
        case .classify, .regress:
            outputs = n
        }
        try validate()
    }
}

private func isLinear(_ layer: Layer) -> Bool {
    if case .linear = layer { return true }
    return false
}
