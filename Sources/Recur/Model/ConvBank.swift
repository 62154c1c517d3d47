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
    let xT: Buffer          // (B, E, T) the embedded text, channels first (rows input)
    let ys: [Buffer]        // (B, F, T−k+1) after ReLU (in place)
    let pooled: [Buffer]    // (B, F)
    let argmax: [Buffer]    // (B, F) Int32
    let concat: Buffer      // (B, F·W)
    let dPooled: Buffer, dXT: Buffer, dXTPart: Buffer, dEmb: Buffer
    let dYs: [Buffer]       // (B, F, T−k+1) gradients before the ReLU
    let wcat: [Buffer]      // tokens: (k·F, E) per width
    let table: Buffer?      // tokens: (V, k·F) E·W_catᵀ in forward, S in backward (one width at a time)
    let rowsT: Buffer?      // tokens: (B, T−k+1, F) the output before its transpose, or dY transposed
    let dWcat: Buffer?      // tokens: (k·F, E) ∂W_cat before its transpose

    /// `vocab` > 0: the bank may read tokens, and reads rows only for batches of at most `rowLimit` positions.
    init(_ d: Device, widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int, training: Bool,
         vocab: Int = 0, rowLimit: Int = .max) throws {
        self.widths = widths; self.filters = filters; self.channels = channels; self.maxT = maxT; self.maxB = maxB
        weights = try widths.enumerated().map { try Parameter(d, "convs.\($0.offset).weight", [filters, channels, $0.element], training: training) }
        biases = try widths.indices.map { try Parameter(d, "convs.\($0).bias", [filters], training: training) }
        let rows = min(maxB * maxT, rowLimit)
        xT = try d.allocate(rows * channels)
        ys = try widths.map { try d.allocate(maxB * filters * (maxT - $0 + 1)) }
        pooled = try widths.map { _ in try d.allocate(maxB * filters) }
        argmax = try widths.map { _ in try d.allocate(maxB * filters) }
        concat = try d.allocate(maxB * filters * widths.count)
        dPooled = try d.allocate(maxB * filters, training: training)
        dXT = try d.allocate(rows * channels, training: training)
        dXTPart = try d.allocate(rows * channels, training: training)
        dEmb = try d.allocate(rows * channels, training: training)
        dYs = try widths.map { try d.allocate(maxB * filters * (maxT - $0 + 1), training: training) }
        let folds = vocab > 0, widest = widths.max() ?? 1, narrowest = widths.min() ?? 1
        wcat = folds ? try widths.map { try d.allocate($0 * filters * channels) } : []
        table = folds ? try d.allocate(vocab * widest * filters) : nil
        rowsT = folds ? try d.allocate(maxB * (maxT - narrowest + 1) * filters) : nil
        dWcat = folds ? try d.allocate(widest * filters * channels, training: training) : nil
    }

    var parameters: [Parameter] { zip(weights, biases).flatMap { [$0, $1] } }
    var width: Int { filters * widths.count }

    func shape(_ i: Int, T: Int, b: Int) -> Conv1DShape {
        Conv1DShape(batch: b, inChannels: channels, outChannels: filters, length: T, kernel: widths[i])
    }

    // input: emb (b, T, E) rows or (b, T) tokens → concat (b, F·W)
    func forward(_ d: Device, input: SequenceInput, T: Int, b: Int) throws -> View {
        var x = xT.view
        if case .rows(let emb) = input {
            x = xT.view.slice(0, b * channels * T)
            try d.transpose(batch: b, rows: T, cols: channels, src: emb, dst: x)
        }
        let out = concat.view.slice(0, b * width)
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].view.slice(0, b * filters * s.outLength)
            switch input {
            case .rows:
                try d.conv1dForward(s, x: x, w: weights[i].value.view, bias: biases[i].value.view, y: y)
            case .tokens(let ids, let e, let vocab):
                let K = widths[i], KF = K * filters, wc = wcat[i].view
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
            try d.maxPoolForward(p, x: y, y: pooled[i].view.slice(0, b * filters), argmax: argmax[i].view.slice(0, b * filters))
            try d.copy2D(rows: b, cols: filters, src: pooled[i].view, srcStride: filters, dst: out.slice(i * filters, out.count - i * filters), dstStride: width)
        }
        return out
    }

    // dConcat (b, F·W) → parameter gradients and dEmb (b, T, E); over tokens, ∂E (V, E) into `dTable`
    func backward(_ d: Device, input: SequenceInput, dConcat: View, T: Int, b: Int, dTable: View? = nil) throws -> View {
        var (x, dx, part) = (xT.view, dXT.view, dXTPart.view)   // sliced for rows input
        if case .rows = input {
            let n = b * channels * T
            (x, dx, part) = (xT.view.slice(0, n), dXT.view.slice(0, n), dXTPart.view.slice(0, n))
        }
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].view.slice(0, b * filters * s.outLength)
            let dp = dPooled.view.slice(0, b * filters)
            try d.copy2D(rows: b, cols: filters, src: dConcat.slice(i * filters, dConcat.count - i * filters), srcStride: width, dst: dp, dstStride: filters)
            let p = PoolShape(batch: b, channels: filters, length: s.outLength, window: s.outLength)
            let dY = dYs[i].view.slice(0, y.count)
            try d.maxPoolBackward(p, dy: dp, argmax: argmax[i].view.slice(0, b * filters), dx: dY)
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
                try d.matmul(MatmulShape(m: vocab, n: channels, k: KF), a: sums, b: wcat[i].view, c: dTable, start: i == 0 ? .zero : .accumulate)
            }
        }
        if case .tokens = input, let dTable { return dTable }
        let out = dEmb.view.slice(0, b * T * channels)
        try d.transpose(batch: b, rows: channels, cols: T, src: dx, dst: out)
        return out
    }

    /// The first `count` elements of a buffer the bank has when it reads tokens.
    private func scratch(_ buffer: Buffer?, _ count: Int) throws -> View {
        guard let buffer, buffer.count >= count else { throw ModelError.config("conv bank reads tokens without its buffers") }
        return buffer.view.slice(0, count)
    }
}
