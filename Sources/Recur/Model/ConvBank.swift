/// Kim (2014) style: Conv1D filters of several widths side by side over the embedded text,
/// ReLU, max over time, concatenated. Parameters convs.i.weight (F, E, k) and convs.i.bias (F).
///
/// Over tokens (`SequenceInput.tokens`) each width computes the (V, k·F) table of every token's
/// product with every tap once (E·W_catᵀ, W_cat (k·F, E) the weight with taps outermost) and sums
/// table rows per position; its backward sums the output gradients per token and tap (S) and takes
/// ∂W_cat = Sᵀ·E and ∂E = Σ_widths S·W_cat from vocab-sized products.
final class ConvBank {
    let widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int
    let weights: [Parameter], biases: [Parameter]
    let xT: View            // (B, E, T) the embedded text, channels first (rows input)
    let ys: [View]          // (B, F, T−k+1) after ReLU (in place)
    let pooled: [View]      // (B, F)
    let argmax: [View]      // (B, F) Int32
    let concat: View        // (B, F·W)
    let dPooled: View, dXT: View, dXTPart: View, dEmb: View
    let dYs: [View]         // (B, F, T−k+1) gradients before the ReLU
    let wcat: [View]        // tokens: (k·F, E) per width
    let table: View?        // tokens: (V, k·F) E·W_catᵀ in forward, S in backward (one width at a time)
    let rowsT: View?        // tokens: (B, T−k+1, F) the output before its transpose, or dY transposed
    let dWcat: View?        // tokens: (k·F, E) ∂W_cat before its transpose

    /// `vocab` > 0: the bank may read tokens, and reads rows only for batches of at most `rowLimit` positions.
    static func plan(_ plan: inout MemoryPlan, widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int, training: Bool,
                     vocab: Int = 0, rowLimit: Int = .max, facts: DeviceFacts) {
        for k in widths {
            let s = Conv1DShape(batch: maxB, inChannels: channels, outChannels: filters, length: maxT, kernel: k)
            if training { plan.uses(.conv1dBackwardData(s), facts); plan.uses(.conv1dBackwardWeight(s), facts) }
            if vocab > 0 { plan.uses(.matmul(MatmulShape(m: vocab, n: k * filters, k: channels, transB: true)), facts) }
        }
        if vocab > 0 && training { plan.uses(.tokenOrder(tokens: maxB * maxT, vocab: vocab), facts) }
        func grad(_ n: Int) -> Int { training ? n : 1 }
        let kept: Lifetime = training ? .saved : .forward
        for (i, k) in widths.enumerated() {
            Parameter.plan(&plan, "convs.\(i).weight", [filters, channels, k], training: training)
            Parameter.plan(&plan, "convs.\(i).bias", [filters], training: training)
        }
        let rows = min(maxB * maxT, rowLimit)
        plan.add("convs.xT", rows * channels, kept)
        for (i, k) in widths.enumerated() { plan.add("convs.y\(i)", maxB * filters * (maxT - k + 1), kept) }
        for i in widths.indices { plan.add("convs.pooled\(i)", maxB * filters, kept) }
        for i in widths.indices { plan.add("convs.argmax\(i)", maxB * filters, kept) }
        plan.add("convs.concat", maxB * filters * widths.count, kept)
        plan.add("convs.dPooled", grad(maxB * filters), .backward)
        for name in ["convs.dXT", "convs.dXTPart", "convs.dEmb"] { plan.add(name, grad(rows * channels), .backward) }
        for (i, k) in widths.enumerated() { plan.add("convs.dY\(i)", grad(maxB * filters * (maxT - k + 1)), .backward) }
        guard vocab > 0 else { return }
        let widest = widths.max() ?? 1, narrowest = widths.min() ?? 1
        for (i, k) in widths.enumerated() { plan.add("convs.wcat\(i)", k * filters * channels, .derived) }
        plan.add("convs.table", vocab * widest * filters, .scratch)
        plan.add("convs.rowsT", maxB * (maxT - narrowest + 1) * filters, .scratch)
        plan.add("convs.dWcat", grad(widest * filters * channels), .backward)
    }

    init(_ arena: Arena, _ d: Device, widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int) throws {
        self.widths = widths; self.filters = filters; self.channels = channels; self.maxT = maxT; self.maxB = maxB
        weights = try widths.enumerated().map { try Parameter(arena, d, "convs.\($0.offset).weight", [filters, channels, $0.element]) }
        biases = try widths.indices.map { try Parameter(arena, d, "convs.\($0).bias", [filters]) }
        xT = arena.view("convs.xT")
        ys = widths.indices.map { arena.view("convs.y\($0)") }
        pooled = widths.indices.map { arena.view("convs.pooled\($0)") }
        argmax = widths.indices.map { arena.view("convs.argmax\($0)") }
        concat = arena.view("convs.concat")
        dPooled = arena.view("convs.dPooled")
        (dXT, dXTPart, dEmb) = (arena.view("convs.dXT"), arena.view("convs.dXTPart"), arena.view("convs.dEmb"))
        dYs = widths.indices.map { arena.view("convs.dY\($0)") }
        let folds = arena.plan["convs.table"] != nil
        wcat = folds ? widths.indices.map { arena.view("convs.wcat\($0)") } : []
        table = folds ? arena.view("convs.table") : nil
        rowsT = folds ? arena.view("convs.rowsT") : nil
        dWcat = folds ? arena.view("convs.dWcat") : nil
    }

    var parameters: [Parameter] { zip(weights, biases).flatMap { [$0, $1] } }
    var width: Int { filters * widths.count }

    func shape(_ i: Int, T: Int, b: Int) -> Conv1DShape {
        Conv1DShape(batch: b, inChannels: channels, outChannels: filters, length: T, kernel: widths[i])
    }

    // input: emb (b, T, E) rows or (b, T) tokens → concat (b, F·W)
    func forward(_ d: Device, input: SequenceInput, T: Int, b: Int) throws -> View {
        var x = xT
        if case .rows(let emb) = input {
            x = xT.slice(0, b * channels * T)
            try d.transpose(batch: b, rows: T, cols: channels, src: emb, dst: x)
        }
        let out = concat.slice(0, b * width)
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].slice(0, b * filters * s.outLength)
            switch input {
            case .rows:
                try d.conv1dForward(s, x: x, w: weights[i].value.view, bias: biases[i].value.view, y: y)
            case .tokens(let ids, let e, let vocab):
                let K = widths[i], KF = K * filters, wc = wcat[i]
                try d.transpose(rows: filters * channels, cols: K, src: weights[i].value.view, dst: wc)   // (F, E, K) → (K·F, E)
                let p = try scratch(table, vocab * KF)
                try d.matmul(MatmulShape(m: vocab, n: KF, k: channels, transB: true), a: e, b: wc, c: p)
                let yt = try scratch(rowsT, y.count)
                try d.tokenConvForward(TokenConvShape(batch: b, length: T, vocab: vocab, filters: filters, kernel: K),
                                       table: p, bias: biases[i].value.view, tokens: ids, y: yt)
                try d.transpose(batch: b, rows: s.outLength, cols: filters, src: yt, dst: y)
            }
            try d.unary(.relu, x: y, y: y)
            let p = PoolShape(batch: b, channels: filters, length: s.outLength, window: s.outLength)
            try d.maxPoolForward(p, x: y, y: pooled[i].slice(0, b * filters), argmax: argmax[i].slice(0, b * filters))
            try d.copy2D(rows: b, cols: filters, src: pooled[i], srcStride: filters, dst: out.slice(i * filters, out.count - i * filters), dstStride: width)
        }
        return out
    }

    // dConcat (b, F·W) → parameter gradients and dEmb (b, T, E); over tokens, ∂E (V, E) into `dTable`
    func backward(_ d: Device, input: SequenceInput, dConcat: View, T: Int, b: Int, dTable: View? = nil) throws -> View {
        var (x, dx, part) = (xT, dXT, dXTPart)   // sliced for rows input
        if case .rows = input {
            let n = b * channels * T
            (x, dx, part) = (xT.slice(0, n), dXT.slice(0, n), dXTPart.slice(0, n))
        }
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].slice(0, b * filters * s.outLength)
            let dp = dPooled.slice(0, b * filters)
            try d.copy2D(rows: b, cols: filters, src: dConcat.slice(i * filters, dConcat.count - i * filters), srcStride: width, dst: dp, dstStride: filters)
            let p = PoolShape(batch: b, channels: filters, length: s.outLength, window: s.outLength)
            let dY = dYs[i].slice(0, y.count)
            try d.maxPoolBackward(p, dy: dp, argmax: argmax[i].slice(0, b * filters), dx: dY)
            try d.unaryBackward(.relu, saved: y, dy: dY, dx: dY)
            switch input {
            case .rows:
                try d.conv1dBackwardWeight(s, x: x, dy: dY, dw: weights[i].grad.view, db: biases[i].grad.view)
                try d.conv1dBackwardData(s, dy: dY, w: weights[i].value.view, dx: i == 0 ? dx : part)
                if i > 0 { try d.binary(.add, a: dx, b: part, y: dx) }
            case .tokens(let ids, let e, let vocab):
                guard let dTable else { throw ModelError.config("a conv bank reading tokens needs the embedding's gradient") }
                let K = widths[i], KF = K * filters
                let dyt = try scratch(rowsT, y.count), sums = try scratch(table, vocab * KF), dwc = try scratch(dWcat, KF * channels)
                try d.transpose(batch: b, rows: filters, cols: s.outLength, src: dY, dst: dyt)
                try d.tokenConvBackward(TokenConvShape(batch: b, length: T, vocab: vocab, filters: filters, kernel: K), dy: dyt, tokens: ids, sums: sums)
                try d.colSum(rows: b * s.outLength, cols: filters, x: dyt, y: biases[i].grad.view)
                try d.matmul(MatmulShape(m: KF, n: channels, k: vocab, transA: true), a: sums, b: e, c: dwc)
                try d.transpose(rows: K, cols: filters * channels, src: dwc, dst: weights[i].grad.view)   // (K·F, E) → (F, E, K)
                try d.matmul(MatmulShape(m: vocab, n: channels, k: KF), a: sums, b: wcat[i], c: dTable, start: i == 0 ? .zero : .accumulate)
            }
        }
        if case .tokens = input, let dTable { return dTable }
        let out = dEmb.slice(0, b * T * channels)
        try d.transpose(batch: b, rows: channels, cols: T, src: dx, dst: out)
        return out
    }

    /// The first `count` elements of a buffer the bank has when it reads tokens.
    private func scratch(_ buffer: View?, _ count: Int) throws -> View {
        guard let buffer, buffer.count >= count else { throw ModelError.config("conv bank reads tokens without its buffers") }
        return buffer.slice(0, count)
    }
}
