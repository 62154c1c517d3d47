/// The recurrent cell of a layer.
public enum CellKind: String, Codable, Sendable, CaseIterable {
    case lstm, gru, rnn
    /// Plain RNN with ReLU.
    case rnnRelu = "rnn-relu"
    /// Gates per hidden unit: the rows of weight_ih / weight_hh are gates × hidden.
    var gates: Int { self == .lstm ? 4 : self == .gru ? 3 : 1 }
}

/// One layer of nn.LSTM / nn.GRU / nn.RNN with PyTorch's parameters weight_ih_lK (G·H, in),
/// weight_hh_lK (G·H, H), bias_ih_lK, bias_hh_lK. Sequences are time-major: x (T, b, in).
///
/// Forward: one matmul projects all T steps (x·W_ihᵀ + bias), then each step adds h·W_hhᵀ with one
/// accumulating matmul and applies one fused cell kernel. Backward through time mirrors it, and the
/// weight gradients are single matmuls over all T·b rows. All buffers are sized once for (T_max, B_max).
final class RecurrentLayer {
    /// A layer's geometry and role in its stack: what its tensors are sized for.
    struct Shape {
        let index: Int, kind: CellKind, inputs: Int, hidden: Int, maxT: Int, maxB: Int, training: Bool
        /// > 0: the layer may read tokens (`SequenceInput.tokens`) and reads rows only for batches of
        /// at most `rowLimit` positions (its ∂x is sized for those).
        var vocab = 0, rowLimit = Int.max
        /// Without it backward is never asked for ∂x (the layer below makes its ∂h step by step).
        var inputGradient = true
        /// Steps `gi` holds: T_max when training (backward reads every step's gates), fewer for
        /// inference, which projects the input that many steps at a time (the same bits: each row's
        /// product is its own chain).
        var giSteps: Int { training ? maxT : min(maxT, RecurrentLayer.inferenceChunk) }
        /// Slots of `cs`: T_max + 1 when training (backward reads every c_t), 2 for inference (c_t and c_t+1).
        var cSlots: Int { training ? maxT + 1 : 2 }
        var G: Int { kind.gates * hidden }
        var prefix: String { "rnn.l\(index)." }
        var dxCount: Int { min(maxT * maxB, rowLimit) * inputs }
    }

    let shape: Shape
    var kind: CellKind { shape.kind }
    var inputs: Int { shape.inputs }
    var hidden: Int { shape.hidden }
    var maxB: Int { shape.maxB }
    var cSlots: Int { shape.cSlots }
    var giSteps: Int { shape.giSteps }
    let wih: Parameter, whh: Parameter, bih: Parameter, bhh: Parameter
    let gi: View            // (giSteps, B, G·H) pre-activations; LSTM keeps its activated gates here in place;
                            // backward overwrites step t with its gate gradients once step t no longer needs them
    let act: View?          // GRU: (T, B, 4H) r, z, n, gh_n
    let gh: View?           // GRU: (B, 3H) per step
    let hs: View            // (T+1, B, H): slot 0 = initial state, slot t+1 = h_t
    let cs: View?           // LSTM: (cSlots, B, H): c_t in slot t mod cSlots
    let biasSum: View?      // LSTM, RNN: b_ih + b_hh
    let dGH: View?, dX: View, dh: View, dhNext: View, dc: [View]
    let wihT: View?, whhT: View?  // (in, G·H) and (H, G·H): on a device slower with Bᵀ, transposed once per
                                  // forward so steps need no Bᵀ (the stack's pair); nil elsewhere (W read as Bᵀ)
    let whhPacked: View?    // W_hhᵀ (forward) or W_hh (backward) packed once for every step's product (CPU)
    let wihPacked: View?    // inference, rows in: W_ihᵀ packed once while `weightsFrozen`, for the input products of
                            // one or a few rows (CPU); larger inputs pack it per product in longer k-blocks
    let folded: View?       // layer 0 of a token model: (V, G), see SequenceInput.tokens
    /// While set (`Model.generate`, whose weights stay as they are), a forward reuses what an earlier
    /// one derived from the weights (the packed W, the bias sum, the embedding fold) instead of
    /// deriving it again for every token; the transposed pair (`wihT`, `whhT`) is shared by the
    /// layers and made every forward. Cleared, the next forward derives everything afresh.
    var weightsFrozen = false { didSet { derived = false } }
    private var derived = false

    /// Steps of input an inference stack projects at a time.
    static let inferenceChunk = 25

    /// The layer's tensors. `sharedGI`: an inference stack's one pre-activation tensor for all layers
    /// (forward reads a layer's `gi` only while that layer runs). `sharedDX`: a tensor the layer's ∂x
    /// may live in where it fits (the stack's ∂h, which holds nothing the layer still reads once its
    /// backward writes ∂x). Backward tensors are placeholders without `training`.
    static func plan(_ plan: inout MemoryPlan, _ s: Shape, facts: DeviceFacts, sharedGI: String?, sharedDX: String?) {
        let G = s.G, p = s.prefix, l = "_l\(s.index)", B = s.maxB, H = s.hidden
        func grad(_ n: Int) -> Int { s.training ? n : 1 }
        let kept: Lifetime = s.training ? .saved : .forward
        let tB = facts.readsTransposedB   // else the products read the stack's transposed pair
        plan.uses(.matmul(MatmulShape(m: s.giSteps * B, n: G, k: s.inputs, transB: tB)), facts)   // input projection
        plan.uses(.matmul(MatmulShape(m: B, n: G, k: H, transB: tB)), facts)                      // each step
        if s.vocab > 0 {
            plan.uses(.matmul(MatmulShape(m: s.vocab, n: G, k: s.inputs, transB: tB)), facts)       // the embedding fold
            if s.training { plan.uses(.tokenOrder(tokens: s.maxT * B, vocab: s.vocab), facts) }
        }
        Parameter.plan(&plan, "rnn.weight_ih" + l, [G, s.inputs], training: s.training)
        Parameter.plan(&plan, "rnn.weight_hh" + l, [G, H], training: s.training)
        Parameter.plan(&plan, "rnn.bias_ih" + l, [G], training: s.training)
        Parameter.plan(&plan, "rnn.bias_hh" + l, [G], training: s.training)
        plan.add(p + "gi", s.giSteps * B * G, kept, shares: sharedGI)
        if s.kind == .gru {
            plan.add(p + "act", s.maxT * B * 4 * H, kept)
            plan.add(p + "gh", B * G, .forward)
        }
        plan.add(p + "hs", (s.maxT + 1) * B * H, kept)
        if s.kind == .lstm { plan.add(p + "cs", s.cSlots * B * H, kept) }
        if s.kind != .gru { plan.add(p + "biasSum", G, .derived) }
        if s.kind == .gru { plan.add(p + "dGH", grad(s.maxT * B * G), .backward) }
        if let sharedDX, let t = plan[sharedDX], t.elements >= s.dxCount { plan.add(p + "dX", s.dxCount, .backward, shares: sharedDX) }
        else { plan.add(p + "dX", s.training && s.inputGradient ? s.dxCount : 1, .backward) }
        if s.vocab > 0 { plan.add(p + "folded", s.vocab * G, .derived) }
        for name in ["dh", "dhNext", "dc0", "dc1"] { plan.add(p + name, grad(B * H), .backward) }
        let packed = max(facts.packedCount(n: G, k: H), facts.packedCount(n: H, k: G))
        if packed > 0 { plan.add(p + "whhPacked", packed, .derived) }
        let inputPacked = s.training || (s.vocab > 0 && s.index == 0) ? 0 : facts.packedCount(n: G, k: s.inputs)
        if inputPacked > 0 { plan.add(p + "wihPacked", inputPacked, .derived) }
    }

    /// The planned layer (`plan`); `transposed`: the stack's pair, on a device slower with Bᵀ.
    init(_ arena: Arena, _ d: Device, _ s: Shape, transposed: (wih: View, whh: View)?) throws {
        shape = s
        let G = s.G, p = s.prefix, l = "_l\(s.index)", H = s.hidden
        wih = try Parameter(arena, d, "rnn.weight_ih" + l, [G, s.inputs])
        whh = try Parameter(arena, d, "rnn.weight_hh" + l, [G, H])
        bih = try Parameter(arena, d, "rnn.bias_ih" + l, [G])
        bhh = try Parameter(arena, d, "rnn.bias_hh" + l, [G])
        func optional(_ name: String) -> View? { arena.plan[p + name] != nil ? arena.view(p + name) : nil }
        gi = arena.view(p + "gi")
        act = optional("act"); gh = optional("gh")
        hs = arena.view(p + "hs"); cs = optional("cs")
        biasSum = optional("biasSum"); dGH = optional("dGH")
        dX = arena.view(p + "dX")
        folded = optional("folded")
        dh = arena.view(p + "dh"); dhNext = arena.view(p + "dhNext")
        dc = [arena.view(p + "dc0"), arena.view(p + "dc1")]
        whhPacked = optional("whhPacked"); wihPacked = optional("wihPacked")
        (wihT, whhT) = (transposed?.wih, transposed?.whh)
        try resetState(d)
    }

    var parameters: [Parameter] { [wih, whh, bih, bhh] }
    var stateBuffers: [View] { [hs] + (cs.map { [$0] } ?? []) }

    /// Zeroes the carried state (slot 0 of h and c).
    func resetState(_ d: Device) throws {
        try d.fill(hs.slice(0, maxB * hidden), 0)
        if let cs { try d.fill(cs.slice(0, maxB * hidden), 0) }
    }

    /// Moves h_T (and c_T) into slot 0, so the next batch continues from this one (truncated BPTT).
    func carryState(_ d: Device, T: Int, b: Int) throws {
        let n = b * hidden
        try d.copy(hs.slice(T * n, n), to: hs.slice(0, n))
        if let cs, T % cSlots != 0 { try d.copy(cs.slice(T % cSlots * n, n), to: cs.slice(0, n)) }
    }

    /// Rows `rows` of slot t of a (slots, b, width) buffer.
    func part(_ buffer: View, _ t: Int, _ b: Int, _ rows: Range<Int>, width: Int? = nil) -> View {
        let w = width ?? hidden
        return buffer.slice((t * b + rows.lowerBound) * w, rows.count * w)
    }

    // input (T, b, in) rows or (T, b) tokens → h (T, b, H), the view of slots 1...T
    func forward(_ d: Device, input: SequenceInput, T: Int, b: Int) throws -> View {
        let G = kind.gates * hidden, rows = T * b
        var (wi, wh, tB) = (wih.value.view, whh.value.view, true)   // W_ihᵀ and W_hhᵀ as the products' B
        let derive = !(weightsFrozen && derived)   // else all below is as the last forward left it
        if let wihT, let whhT {
            let wiT = wihT.slice(0, G * inputs), whT = whhT.slice(0, G * hidden)
            // every forward, frozen or not: the pair is shared by all layers of the stack
            try d.transpose(rows: G, cols: inputs, src: wih.value.view, dst: wiT)
            try d.transpose(rows: G, cols: hidden, src: whh.value.view, dst: whT)
            (wi, wh, tB) = (wiT, whT, false)
        }
        if kind != .gru && derive { try d.binary(.add, a: bih.value.view, b: bhh.value.view, y: biasSum!) }
        let start = MatmulStart.bias(kind == .gru ? bih.value.view : biasSum!)
        if case .tokens(_, let table, let vocab) = input, derive {   // P (V, G) = E·W_ihᵀ + bias, then gi[p] = P[ids[p]]
            try d.matmul(MatmulShape(m: vocab, n: G, k: inputs, transB: tB), a: table, b: wi, c: try foldedProjection(vocab, G), start: start)
        }
        let packed = whhPacked ?? wh   // a device that reads B as stored ignores it
        if derive {
            try d.packB(MatmulShape(m: b, n: G, k: hidden, transB: tB), b: wh, into: packed)
            if let wihPacked, weightsFrozen { try d.packB(MatmulShape(m: 1, n: G, k: inputs, transB: tB), b: wi, into: wihPacked) }
        }
        derived = true
        var t0 = 0
        while t0 < T {   // chunks of `giSteps` steps: the chunk's input projection, then its steps
            let steps = min(giSteps, T - t0), all = gi.slice(0, steps * b * G)
            switch input {
            case .rows(let x):
                let shape = MatmulShape(m: steps * b, n: G, k: inputs, transB: tB), xs = x.slice(t0 * b * inputs, steps * b * inputs)
                if let wihPacked, weightsFrozen { try d.matmul(shape, a: xs, b: wi, packedB: wihPacked, c: all, start: start) }
                else { try d.matmul(shape, a: xs, b: wi, c: all, start: start) }
            case .tokens(let ids, _, let vocab):
                try d.embeddingForward(vocab: vocab, dim: G, table: try foldedProjection(vocab, G), indices: ids.slice(t0 * b, steps * b), out: all)
            }
            try d.rowParts(b, weights: G * hidden) { band in
                let step = MatmulShape(m: band.count, n: G, k: hidden, transB: tB)
                for t in t0..<(t0 + steps) {
                    let g = gi.slice(((t - t0) * b + band.lowerBound) * G, band.count * G)
                    let hPrev = part(hs, t, b, band), h = part(hs, t + 1, b, band)
                    switch kind {
                    case .lstm:
                        try d.matmul(step, a: hPrev, b: wh, packedB: packed, c: g, start: .accumulate)
                        try d.lstmForward(batch: band.count, hidden: hidden, gates: g, cPrev: part(cs!, t % cSlots, b, band), act: g,
                                          c: part(cs!, (t + 1) % cSlots, b, band), h: h)
                    case .rnn, .rnnRelu:
                        try d.matmul(step, a: hPrev, b: wh, packedB: packed, c: g, start: .accumulate)
                        try d.rnnForward(kind == .rnn ? .tanh : .relu, pre: g, h: h)
                    case .gru:
                        let ghv = gh!.slice(band.lowerBound * G, band.count * G)
                        try d.matmul(step, a: hPrev, b: wh, packedB: packed, c: ghv, start: .bias(bhh.value.view))
                        try d.gruForward(batch: band.count, hidden: hidden, gi: g, gh: ghv, hPrev: hPrev,
                                         act: part(act!, t, b, band, width: 4 * hidden), h: h)
                    }
                }
            }
            t0 += steps
        }
        return hs.slice(b * hidden, rows * hidden)
    }

    // ∂h of each step (`upstream`) → parameter gradients (overwritten) and dX (T, b, in) when wanted;
    // with token input, ∂E (V, in) into `dTable` instead
    func backward(_ d: Device, input: SequenceInput, upstream: StepGradient, T: Int, b: Int, needInput: Bool,
                  dTable: View? = nil) throws -> View? {
        let G = kind.gates * hidden, rows = T * b, n = b * hidden
        derived = false   // backward overwrites the embedding fold's table
        try d.fill(dhNext.slice(0, n), 0)
        let packed = whhPacked ?? whh.value.view
        try d.packB(MatmulShape(m: b, n: hidden, k: G), b: whh.value.view, into: packed)
        try d.rowParts(b, weights: G * hidden) { band in
            let stepBack = MatmulShape(m: band.count, n: hidden, k: G), r = band.count
            let dht = part(dh, 0, b, band), dhn = part(dhNext, 0, b, band)
            var cur = 0
            for t in stride(from: T - 1, through: 0, by: -1) {
                let dg = part(gi, t, b, band, width: G)   // in place (see gi)
                try upstream.add(d, t: t, b: b, rows: band, hidden: hidden, dhNext: dhn, into: dht)
                switch kind {
                case .lstm:
                    try d.lstmBackward(batch: r, hidden: hidden, act: dg, cPrev: part(cs!, t, b, band), c: part(cs!, t + 1, b, band),
                                       dh: dht, dcNext: t == T - 1 ? nil : part(dc[cur], 0, b, band), dGates: dg,
                                       dcPrev: part(dc[1 - cur], 0, b, band))
                    cur = 1 - cur
                    try d.matmul(stepBack, a: dg, b: whh.value.view, packedB: packed, c: dhn)
                case .rnn, .rnnRelu:
                    try d.rnnBackward(kind == .rnn ? .tanh : .relu, h: part(hs, t + 1, b, band), dh: dht, dPre: dg)
                    try d.matmul(stepBack, a: dg, b: whh.value.view, packedB: packed, c: dhn)
                case .gru:
                    let dgh = part(dGH!, t, b, band, width: G)
                    try d.gruBackward(batch: r, hidden: hidden, act: part(act!, t, b, band, width: 4 * hidden), hPrev: part(hs, t, b, band),
                                      dh: dht, dgi: dg, dgh: dgh, dhPrev: dhn)
                    try d.matmul(stepBack, a: dgh, b: whh.value.view, packedB: packed, c: dhn, start: .accumulate)
                }
            }
        }
        let dgAll = gi.slice(0, rows * G), dghAll = (dGH ?? gi).slice(0, rows * G)
        try d.matmul(MatmulShape(m: G, n: hidden, k: rows, transA: true), a: dghAll, b: hs.slice(0, rows * hidden), c: whh.grad.view)
        switch input {
        case .rows(let x):
            try d.matmul(MatmulShape(m: G, n: inputs, k: rows, transA: true), a: dgAll, b: x, c: wih.grad.view)
            try d.colSum(rows: rows, cols: G, x: dgAll, y: bih.grad.view)
            try d.colSum(rows: rows, cols: G, x: dghAll, y: bhh.grad.view)
            guard needInput else { return nil }
            let dx = dX.slice(0, rows * inputs)
            try d.matmul(MatmulShape(m: rows, n: inputs, k: G), a: dgAll, b: wih.value.view, c: dx)
            return dx
        case .tokens(let ids, let table, let vocab):
            // S (V, G): the gate gradients summed per token; ∂W_ih = Sᵀ·E, ∂b = Σ_v S, ∂E = S·W_ih
            let s = try tokenGradientSums(vocab, G)
            try d.embeddingBackward(vocab: vocab, dim: G, dOut: dgAll, indices: ids, dTable: s)
            try d.matmul(MatmulShape(m: G, n: inputs, k: vocab, transA: true), a: s, b: table, c: wih.grad.view)
            try d.colSum(rows: vocab, cols: G, x: s, y: bih.grad.view)
            if kind == .gru { try d.colSum(rows: rows, cols: G, x: dghAll, y: bhh.grad.view) }
            else { try d.colSum(rows: vocab, cols: G, x: s, y: bhh.grad.view) }
            guard let dTable else { throw ModelError.config("a layer reading tokens needs the embedding's gradient") }
            try d.matmul(MatmulShape(m: vocab, n: inputs, k: G), a: s, b: wih.value.view, c: dTable)
            return dTable
        }
    }

    /// Forward over tokens: P (V, G) = E·W_ihᵀ + bias, whose rows the steps gather.
    private func foldedProjection(_ vocab: Int, _ G: Int) throws -> View { try tokenTable(vocab, G) }

    /// Backward over tokens: S (V, G), the gate gradients summed per token. It overwrites the folded
    /// projection (the same memory), so the next forward derives that again.
    private func tokenGradientSums(_ vocab: Int, _ G: Int) throws -> View { try tokenTable(vocab, G) }

    /// The layer's (V, G) per-token table (`folded`), which forward and backward use in turn.
    private func tokenTable(_ vocab: Int, _ G: Int) throws -> View {
        guard let folded, folded.count >= vocab * G else { throw ModelError.config("layer reads tokens without a table for \(vocab) of them") }
        return folded.slice(0, vocab * G)
    }
}

/// What recurrent layer 0 reads.
enum SequenceInput {
    /// (T, b, in) vectors.
    case rows(View)
    /// (T, b) token ids and the embedding table E (vocab, in): the layer computes E·W_ihᵀ once and
    /// gathers its rows (see `ModelConfig.EmbeddingFold`).
    case tokens(View, table: View, vocab: Int)
}

/// A stack of recurrent layers with optional dropout between them (as nn.LSTM's `dropout`).
final class RecurrentStack {
    let layers: [RecurrentLayer]
    let dropout: Float
    let dropped: [View]     // (T, B, H) per layer but the last: the dropout outputs
    let dDropped: View

    /// Whether a layer's backward makes its ∂h step by step from the layer above's gate gradients
    /// (`StepGradient.product`) instead of reading the ∂x that layer stored: on devices where that
    /// costs no speed (`DeviceFacts.stepwiseGradients`) and without dropout between the layers (which
    /// masks the stored ∂x).
    let stepwise: Bool
    static func stepwise(_ facts: DeviceFacts, dropout: Float, layers: Int) -> Bool { facts.stepwiseGradients && (dropout == 0 || layers == 1) }

    /// A stack's geometry: `vocab` and `rowLimit` are layer 0's token input (`RecurrentLayer.Shape`).
    struct Shape {
        let kind: CellKind, inputs: Int, hidden: Int, layers: Int, dropout: Float, maxT: Int, maxB: Int, training: Bool
        var vocab = 0, rowLimit = Int.max

        func layer(_ l: Int, stepwise: Bool) -> RecurrentLayer.Shape {
            var s = RecurrentLayer.Shape(index: l, kind: kind, inputs: l == 0 ? inputs : hidden, hidden: hidden, maxT: maxT, maxB: maxB, training: training)
            if l == 0 { s.vocab = vocab; s.rowLimit = rowLimit }
            s.inputGradient = l == 0 || !stepwise
            return s
        }
    }

    /// The stack's tensors. `sharedDX`: the tensor the stack's ∂h arrives in (T_max · B_max · hidden or
    /// more): each layer writes its ∂x there once its backward no longer reads its ∂h (where it fits),
    /// instead of a tensor of its own.
    static func plan(_ plan: inout MemoryPlan, _ s: Shape, facts: DeviceFacts, sharedDX: String?) {
        let gh = s.kind.gates * s.hidden
        let stepwise = Self.stepwise(facts, dropout: s.dropout, layers: s.layers)
        if !s.training { plan.add("rnn.gi", min(s.maxT, RecurrentLayer.inferenceChunk) * s.maxB * gh, .forward) }
        // A device slower with Bᵀ gets W_ihᵀ and W_hhᵀ transposed per forward: one pair for all
        // layers (a layer's forward is queued whole before the next layer's transposes), kept in
        // `sharedDX` where it fits: that tensor holds nothing between a backward and the next forward.
        if !facts.readsTransposedB {
            let wihCount = max(s.inputs, s.hidden) * gh, whhCount = s.hidden * gh
            if s.training, let sharedDX, let t = plan[sharedDX], t.elements >= wihCount + whhCount {
                plan.add("rnn.weight_ihT", wihCount, .derived, shares: sharedDX)
                plan.add("rnn.weight_hhT", whhCount, .derived, shares: sharedDX, offset: wihCount)
            } else {
                plan.add("rnn.weight_ihT", wihCount, .derived)
                plan.add("rnn.weight_hhT", whhCount, .derived)
            }
        }
        for l in 0..<s.layers {
            RecurrentLayer.plan(&plan, s.layer(l, stepwise: stepwise), facts: facts, sharedGI: s.training ? nil : "rnn.gi",
                                sharedDX: s.training ? sharedDX : nil)
        }
        let n = s.maxT * s.maxB * s.hidden
        if s.dropout > 0 && s.training { for l in 0..<max(0, s.layers - 1) { plan.add("rnn.l\(l).dropped", n, .saved) } }
        // read only between layers with dropout
        plan.add("rnn.dDropped", s.training && s.dropout > 0 && s.layers > 1 ? n : 1, .backward)
    }

    init(_ arena: Arena, _ d: Device, _ s: Shape, facts: DeviceFacts) throws {
        let stepwise = Self.stepwise(facts, dropout: s.dropout, layers: s.layers)
        self.stepwise = stepwise
        let transposed = arena.plan["rnn.weight_ihT"] != nil ? (arena.view("rnn.weight_ihT"), arena.view("rnn.weight_hhT")) : nil
        layers = try (0..<s.layers).map { try RecurrentLayer(arena, d, s.layer($0, stepwise: stepwise), transposed: transposed) }
        self.dropout = s.dropout
        dropped = (0..<max(0, s.layers - 1)).compactMap { arena.plan["rnn.l\($0).dropped"] != nil ? arena.view("rnn.l\($0).dropped") : nil }
        dDropped = arena.view("rnn.dDropped")
    }

    var parameters: [Parameter] { layers.flatMap(\.parameters) }
    var hidden: Int { layers[0].hidden }

    /// Dropout mask key for layer l at training step `step`: (seed, stream) shared by forward and backward.
    static func stream(step: Int, slot: Int) -> UInt64 { UInt64(step) << 8 | UInt64(slot) }

    // input (T, b, in) or tokens → (T, b, H); `step` keys dropout (nil: no dropout, as in evaluation)
    func forward(_ d: Device, input x: SequenceInput, T: Int, b: Int, seed: UInt64, step: Int?) throws -> View {
        var h = try layers[0].forward(d, input: x, T: T, b: b)
        for l in layers.indices.dropFirst() {
            if let step, dropout > 0 {   // between layers l − 1 and l
                let out = dropped[l - 1].slice(0, h.count)
                try d.dropout(seed: seed, stream: Self.stream(step: step, slot: l - 1), p: dropout, x: h, y: out)
                h = out
            }
            h = try layers[l].forward(d, input: .rows(h), T: T, b: b)
        }
        return h
    }

    /// Layer inputs as the forward saw them.
    func input(of l: Int, x: SequenceInput, T: Int, b: Int, training: Bool) -> SequenceInput {
        if l == 0 { return x }
        let n = T * b * hidden
        return .rows(training && dropout > 0 ? dropped[l - 1].slice(0, n) : layers[l - 1].hs.slice(b * hidden, n))
    }

    /// `top`: ∂h of the top layer's steps. Returns layer 0's ∂x when `needInput`; with token input,
    /// layer 0 writes ∂E into `dTable` and returns it.
    func backward(_ d: Device, input x: SequenceInput, top: StepGradient, T: Int, b: Int, seed: UInt64, step: Int?, needInput: Bool,
                  dTable: View? = nil) throws -> View? {
        var upstream = top
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l], inp = input(of: l, x: x, T: T, b: b, training: step != nil)
            let dx = try layer.backward(d, input: inp, upstream: upstream, T: T, b: b, needInput: l > 0 ? !stepwise : needInput,
                                        dTable: l == 0 ? dTable : nil)
            if l == 0 { return dx }
            if stepwise {   // layer l − 1 makes each step's ∂h from this layer's gate gradients (its ∂x, unstored)
                let G = layer.kind.gates * hidden
                upstream = .product(a: layer.gi.slice(0, T * b * G), w: layer.wih.value.view, k: G)
            } else if var grad = dx {
                if let step, dropout > 0 {
                    let out = dDropped.slice(0, grad.count)
                    try d.dropout(seed: seed, stream: Self.stream(step: step, slot: l - 1), p: dropout, x: grad, y: out)
                    grad = out
                }
                upstream = .stored(grad)
            }
        }
        return nil
    }

    func resetState(_ d: Device) throws { for l in layers { try l.resetState(d) } }
    func carryState(_ d: Device, T: Int, b: Int) throws { for l in layers { try l.carryState(d, T: T, b: b) } }
}
