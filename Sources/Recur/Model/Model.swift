/// A trainable model of one of the three families, on one device, with every buffer allocated at
/// construction for (batch, sequence) at most. `forward` and `backward` run a batch; nothing is
/// allocated afterwards. Parameter names and layouts are PyTorch's `state_dict` (see docs/CHECKPOINTS.md).
///
/// One thread at a time: a call while another thread is inside one throws (`SingleUser`). Any number
/// of models, each on its own thread, may share one `Device`.
public final class Model: @unchecked Sendable {
    /// The architecture and the batch and sequence sizes buffers were sized for.
    public let config: ModelConfig
    /// The device every buffer of the model lives on.
    public let device: Device
    /// False for a model built for inference: forward without dropout only, about half the memory.
    public let training: Bool
    /// The seed of initialisation and dropout.
    public let seed: UInt64
    let embedding: Embedding?
    let stack: RecurrentStack?
    let convs: ConvBank?
    let head: Linear
    let tokens: View, labels: View, values: View, targets: View
    let losses: View, stats: View, dLogits: View, dH: View?, dropped: View, dDropped: View
    /// Whether the top of a language model's stack makes its ∂h step by step from the logits' gradient
    /// (`StepGradient.product`) instead of the head's stored ∂x.
    let stepwiseTop: Bool
    /// [mean loss] after `forward`.
    public let loss: Buffer
    /// Every trainable tensor, in PyTorch's state_dict order.
    public let parameters: [Parameter]
    private var last: (T: Int, b: Int, features: View?, step: Int?, input: SequenceInput?)? = nil
    /// Every tensor the model holds on its device, laid out before anything was allocated (and
    /// checked against the device's memory).
    public let plan: MemoryPlan
    /// What the model allocated on its device, by lifetime class.
    public var memory: MemoryNeed { plan.need }
    /// A model is used by one thread at a time (its buffers hold one batch); its device may be shared.
    let user = SingleUser("this Model")

    /// Whether the encoder may read tokens through the embedding (`ModelConfig.EmbeddingFold`).
    static func foldable(_ c: ModelConfig) -> Bool { c.family != .regressor && c.embeddingFold != .never }
    /// The fewest positions of a batch that layer 0 folds.
    static func foldFrom(_ c: ModelConfig) -> Int { c.embeddingFold == .always ? 1 : 2 * c.vocab }

    /// Layer 0's input for `ids` (T·b tokens): folded, or the embedded rows.
    private func tokenInput(_ ids: View) throws -> SequenceInput {
        if Self.foldable(config) && ids.count >= Self.foldFrom(config) {
            return .tokens(ids, table: embedding!.weight.value.view, vocab: config.vocab)
        }
        return .rows(try embedding!.forward(device, indices: ids))
    }

    /// Validates `config`, allocates every buffer on `device` and initialises the parameters from `seed` (PyTorch's default initialisation, drawn from Philox).
    /// A model larger than the device's memory (`Device.memoryBudget`) is refused with the numbers before anything is allocated.
    /// With `training: false` only what `forward(_:step: nil)` needs is allocated (no gradients, no
    /// backward buffers; recurrent layers share one pre-activation buffer): for evaluation and
    /// generation; `backward`, a training forward and `Trainer` refuse such a model.
    public init(_ config: ModelConfig, device: Device, seed: UInt64, training: Bool = true) throws {
        let plan = try Self.plan(config, device: device, training: training)
        try Self.admit(plan.need, device: device)
        self.config = config; self.device = device; self.seed = seed; self.training = training; self.plan = plan
        let d = device, facts = device.facts
        let arena = try Arena(plan, device: d)
        try d.reserveScratch(plan.deviceScratch)
        embedding = config.family == .regressor ? nil
            : try Embedding(arena, d, prefix: "embedding.", vocab: config.vocab, dim: config.embedding)
        stepwiseTop = Self.stepwiseTop(config, facts: facts, training: training)
        dH = plan["dH"] != nil ? arena.view("dH") : nil
        stack = config.encoder == .cnn ? nil : try RecurrentStack(arena, d, Self.stackShape(config, training: training), facts: facts)
        convs = config.encoder == .cnn
            ? try ConvBank(arena, d, widths: config.convWidths, filters: config.convFilters, channels: config.embedding,
                           maxT: config.sequence, maxB: config.batch) : nil
        let outputs = config.family == .languageModel ? config.vocab : config.outputs
        head = try Linear(arena, d, prefix: "fc.", inputs: convs?.width ?? config.hidden, outputs: outputs)
        (tokens, labels, values, targets) = (arena.view("tokens"), arena.view("labels"), arena.view("values"), arena.view("targets"))
        (losses, stats, dLogits) = (arena.view("losses"), arena.view("stats"), arena.view("dLogits"))
        (dropped, dDropped) = (arena.view("dropped"), arena.view("dDropped"))
        loss = arena.buffer("loss")
        parameters = (embedding?.parameters ?? []) + (convs?.parameters ?? []) + (stack?.parameters ?? []) + head.parameters
        try initialize()
    }

    /// Whether a language model's stack top makes its ∂h step by step (`stepwiseTop`).
    static func stepwiseTop(_ c: ModelConfig, facts: DeviceFacts, training: Bool) -> Bool {
        training && c.family == .languageModel && c.encoder != .cnn && facts.stepwiseGradients
    }

    /// The recurrent stack's geometry for `c`.
    static func stackShape(_ c: ModelConfig, training: Bool) -> RecurrentStack.Shape {
        var s = RecurrentStack.Shape(kind: c.cell, inputs: c.family == .regressor ? c.inputs : c.embedding, hidden: c.hidden, layers: c.layers,
                                     dropout: c.dropout, maxT: c.sequence, maxB: c.batch, training: training)
        if foldable(c) { s.vocab = c.vocab }
        s.rowLimit = tokenRows(c)
        return s
    }

    /// Positions the embedding gathers rows for: a folding model embeds only batches too small to fold.
    static func tokenRows(_ c: ModelConfig) -> Int { foldable(c) ? max(1, foldFrom(c) - 1) : c.batch * c.sequence }

    /// Every tensor a model of `config` holds on a device with `facts` (with `optimizer`, its trainer's
    /// optimizer state too), laid out: nothing is allocated. Sizes are those of `config`, which
    /// `validate` bounds, so no product overflows.
    static func plan(_ config: ModelConfig, facts: DeviceFacts, training: Bool, optimizer: OptimizerConfig? = nil) throws -> MemoryPlan {
        try config.validate()
        var plan = MemoryPlan()
        let B = config.batch, T = config.sequence
        func grad(_ n: Int) -> Int { training ? n : 1 }
        if config.family != .regressor {
            Embedding.plan(&plan, prefix: "embedding.", vocab: config.vocab, dim: config.embedding, maxTokens: min(B * T, tokenRows(config)),
                           training: training, facts: facts)
        }
        if config.encoder == .cnn {
            ConvBank.plan(&plan, widths: config.convWidths, filters: config.convFilters, channels: config.embedding, maxT: T, maxB: B,
                          training: training, vocab: foldable(config) ? config.vocab : 0, rowLimit: tokenRows(config), facts: facts)
        } else {
            // ∂h of the recurrent stack's top (T, B, H): the layers write their ∂x here too once their
            // backward is past reading it, and a language model's head writes its ∂x (the top's ∂h) here.
            // Not needed where a language model's stack makes every ∂h step by step (`StepGradient`).
            let stepwiseAll = stepwiseTop(config, facts: facts, training: training)
                && RecurrentStack.stepwise(facts, dropout: config.dropout, layers: config.layers)
            plan.add("dH", training && !stepwiseAll ? B * T * config.hidden : 1, .backward)
            RecurrentStack.plan(&plan, stackShape(config, training: training), facts: facts, sharedDX: training ? "dH" : nil)
        }
        let features = config.encoder == .cnn ? config.convFilters * config.convWidths.count : config.hidden
        let headRows = config.family == .languageModel ? B * T : B
        let outputs = config.family == .languageModel ? config.vocab : config.outputs
        Linear.plan(&plan, prefix: "fc.", inputs: features, outputs: outputs, maxRows: headRows, training: training,
                    dInput: config.family == .languageModel && training ? "dH" : nil,
                    inputGradient: !stepwiseTop(config, facts: facts, training: training), facts: facts)
        plan.uses(.reduce(count: config.family == .regressor ? B * config.outputs : headRows), facts)   // the mean loss
        plan.add("tokens", B * T, .input)
        plan.add("labels", headRows, .input)
        plan.add("values", config.family == .regressor ? B * T * config.inputs : 1, .input)
        plan.add("targets", B * config.outputs, .input)
        plan.add("losses", headRows, training ? .saved : .forward)
        plan.add("stats", 2 * headRows, training ? .saved : .forward)
        plan.add("dLogits", grad(headRows * outputs), .backward)
        plan.add("dropped", grad(B * features), .saved)
        plan.add("dDropped", grad(B * features), .backward)
        plan.add("loss", 1, .forward)
        if let optimizer {
            let parameters = plan.tensors.filter { $0.lifetime == .parameter }.map { ($0.name, $0.elements) }
            Optimizer.plan(&plan, optimizer, parameters: parameters, facts: facts)
        }
        plan.addDeviceScratch()
        return plan
    }

    /// PyTorch's default initialisation, drawn uniformly from Philox(seed, parameter index):
    /// embedding U(−√3, √3) (unit variance like N(0, 1)); recurrent U(−1/√H, 1/√H);
    /// linear and conv U(−1/√fan_in, 1/√fan_in).
    func initialize() throws {
        for (i, p) in parameters.enumerated() {
            let bound: Float
            if p.name.hasPrefix("embedding") { bound = Float(3).squareRoot() }
            else if p.name.hasPrefix("rnn.") { bound = 1 / Float(config.hidden).squareRoot() }
            else if p.name.hasPrefix("convs.") {
                let k = config.convWidths[Int(p.name.split(separator: ".")[1])!]
                bound = 1 / Float(config.embedding * k).squareRoot()
            } else { bound = 1 / Float(head.inputs).squareRoot() }
            try p.initialize(device, seed: seed, stream: UInt64(i), bound: bound)
        }
        if config.cell == .lstm, config.forgetBias != 0, let stack {
            for layer in stack.layers {   // gate order i, f, g, o: the forget slice is [H, 2H)
                var b = try device.download(layer.bih.value.view)
                for j in config.hidden..<(2 * config.hidden) { b[j] = b[j] + config.forgetBias }
                try device.upload(b, to: layer.bih.value.view)
            }
        }
    }

    /// Buffers holding state carried between batches (truncated BPTT): part of a checkpoint.
    var stateBuffers: [View] { stack?.layers.flatMap(\.stateBuffers) ?? [] }

    /// Zeroes the carried recurrent state (the next batch starts a new sequence).
    public func resetState() throws { try user.run { try stack?.resetState(device) } }

    func check(_ batch: Batch) throws {
        guard batch.T > 0, batch.b > 0, batch.T <= config.sequence, batch.b <= config.batch else {
            throw ModelError.config("batch \(batch.b)×\(batch.T) exceeds the model's \(config.batch)×\(config.sequence)")
        }
    }

    /// Runs the batch forward and writes the mean loss into `loss`. `step` keys dropout (nil: evaluation).
    /// A language model starts from its carried state (see `carryState`, `resetState`).
    public func forward(_ batch: Batch, step: Int?) throws { try user.run { try forwardAlone(batch, step: step) } }

    private func forwardAlone(_ batch: Batch, step: Int?) throws {
        if step != nil && !training { throw ModelError.config("a training forward (step \(step!)) on a model built for inference (training: false)") }
        try check(batch)
        let d = device, T = batch.T, b = batch.b
        let features: View
        var input: SequenceInput? = nil
        switch config.family {
        case .languageModel:
            try d.upload(Batch.timeMajor(batch.tokens, T: T, b: b), to: tokens)
            try d.upload(Batch.timeMajor(batch.labels, T: T, b: b), to: labels)
            input = try tokenInput(tokens.slice(0, T * b))
            features = try stack!.forward(d, input: input!, T: T, b: b, seed: seed, step: step)
        case .classifier:
            try d.upload(batch.labels, to: labels)
            if let convs {
                try d.upload(batch.tokens, to: tokens)
                input = try tokenInput(tokens.slice(0, T * b))
                features = try dropout(try convs.forward(d, input: input!, T: T, b: b), step: step)
            } else {
                try d.upload(Batch.timeMajor(batch.tokens, T: T, b: b), to: tokens)
                input = try tokenInput(tokens.slice(0, T * b))
                try stack!.resetState(d)
                let h = try stack!.forward(d, input: input!, T: T, b: b, seed: seed, step: step)
                features = try dropout(h.slice((T - 1) * b * config.hidden, b * config.hidden), step: step)
            }
        case .regressor:
            try d.upload(Batch.timeMajor(batch.values, T: T, b: b, width: config.inputs), to: values)
            try d.upload(batch.targets, to: targets)
            try stack!.resetState(d)
            input = .rows(values.slice(0, T * b * config.inputs))
            let h = try stack!.forward(d, input: input!, T: T, b: b, seed: seed, step: step)
            features = h.slice((T - 1) * b * config.hidden, b * config.hidden)
        }
        let rows = config.family == .languageModel ? T * b : b
        let y = try head.forward(d, features, rows: rows)
        if config.family == .regressor {
            try d.reduce(.squaredDifference, x: y, y: targets.slice(0, y.count), divisor: Float(y.count), out: loss.view)
        } else {
            try d.softmaxCrossEntropy(rows: rows, cols: head.outputs, logits: y, targets: labels.slice(0, rows),
                                      losses: losses.slice(0, rows), stats: stats.slice(0, 2 * rows))
            try d.mean(losses.slice(0, rows), out: loss.view)
        }
        last = (T, b, features, step, input)
    }

    private func dropout(_ x: View, step: Int?) throws -> View {
        guard let step, config.dropout > 0 else { return x }
        let out = dropped.slice(0, x.count)
        try device.dropout(seed: seed, stream: RecurrentStack.stream(step: step, slot: 255), p: config.dropout, x: x, y: out)
        return out
    }

    /// Gradients of the mean loss of the last `forward` into every parameter's `grad` (overwritten),
    /// with the same dropout masks as that forward (none when it ran with `step: nil`).
    public func backward() throws { try user.run { try backwardAlone() } }

    private func backwardAlone() throws {
        guard training else { throw ModelError.config("backward on a model built for inference (training: false)") }
        guard let (T, b, features, step, input) = last, let features else { throw ModelError.config("backward before forward") }
        let d = device, rows = config.family == .languageModel ? T * b : b
        let y = head.output.slice(0, rows * head.outputs), dy = dLogits.slice(0, y.count)
        if config.family == .regressor {
            try d.binary(.sub, a: y, b: targets.slice(0, y.count), y: dy)
            try d.unary(.scale, alpha: 2 / Float(y.count), x: dy, y: dy)
        } else {
            try d.softmaxCrossEntropyBackward(rows: rows, cols: head.outputs, scale: 1 / Float(rows), logits: y,
                                              targets: labels.slice(0, rows), stats: stats.slice(0, 2 * rows), dLogits: dy)
        }
        let tokenView = tokens.slice(0, T * b)
        if config.family == .languageModel {   // the top's ∂h: the head's ∂x, or made step by step from dy
            let dx = try head.backward(d, x: features, dy: dy, rows: rows, needInput: !stepwiseTop)
            let top = dx.map(StepGradient.stored) ?? .product(a: dy, w: head.weight.value.view, k: head.outputs)
            try throughEmbedding(input!, tokens: tokenView) { dTable in
                try stack!.backward(d, input: input!, top: top, T: T, b: b, seed: seed, step: step, needInput: true, dTable: dTable)
            }
            return
        }
        var dFeatures = try head.backward(d, x: features, dy: dy, rows: rows)!
        if let step, config.dropout > 0, config.family == .classifier {
            let out = dDropped.slice(0, dFeatures.count)
            try d.dropout(seed: seed, stream: RecurrentStack.stream(step: step, slot: 255), p: config.dropout, x: dFeatures, y: out)
            dFeatures = out
        }
        if let convs {
            try throughEmbedding(input!, tokens: tokenView) { dTable in
                try convs.backward(d, input: input!, dConcat: dFeatures, T: T, b: b, dTable: dTable)
            }
        } else {
            let H = config.hidden, all = dH!.slice(0, T * b * H)
            if T > 1 { try d.fill(all.slice(0, (T - 1) * b * H), 0) }
            try d.copy(dFeatures, to: all.slice((T - 1) * b * H, b * H))
            try throughEmbedding(input!, tokens: tokenView) { dTable in
                try stack!.backward(d, input: input!, top: .stored(all), T: T, b: b, seed: seed, step: step, needInput: embedding != nil,
                                    dTable: dTable)
            }
        }
    }

    /// Runs an encoder's backward, then the embedding's: an encoder reading tokens is handed the
    /// embedding's gradient to write itself; otherwise the embedding sums the input gradient it returns.
    private func throughEmbedding(_ input: SequenceInput, tokens: View, _ encoderBackward: (View?) throws -> View?) throws {
        if case .tokens = input {
            _ = try encoderBackward(embedding!.weight.grad.view)
        } else if let de = try encoderBackward(nil) {
            try embedding!.backward(device, indices: tokens, dOut: de)
        }
    }

    /// The logits (classifier, language model) or predictions (regressor) of the last forward, downloaded.
    public func outputs() throws -> [Float] {
        try user.run {
            guard let (T, b, _, _, _) = last else { return [] }
            let rows = config.family == .languageModel ? T * b : b
            return try device.download(head.output.slice(0, rows * head.outputs))
        }
    }

    /// Language model: the next batch starts from this batch's final state (truncated BPTT).
    /// Call after `backward`, which needs the initial state.
    public func carryState() throws {
        try user.run {
            guard let (T, b, _, _, _) = last else { return }
            try stack?.carryState(device, T: T, b: b)
        }
    }

    /// The mean loss of the last `forward`, read from the device (a synchronisation point).
    public func lossValue() throws -> Float { try user.run { try device.download(loss.view)[0] } }
}
