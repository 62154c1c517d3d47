/// Kim (2014) style: Conv1D filters of several widths side by side over the embedded text,
/// ReLU, max over time, concatenated. Parameters convs.i.weight (F, E, k) and convs.i.bias (F).
final class ConvBank {
    let widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int
    let weights: [Parameter], biases: [Parameter]
    let xT: Buffer          // (B, E, T) the embedded text, channels first
    let ys: [Buffer]        // (B, F, T−k+1) after ReLU (in place)
    let pooled: [Buffer]    // (B, F)
    let argmax: [Buffer]    // (B, F) Int32
    let concat: Buffer      // (B, F·W)
    let dPooled: Buffer, dXT: Buffer, dXTPart: Buffer, dEmb: Buffer
    let dYs: [Buffer]       // (B, F, T−k+1) gradients before the ReLU

    init(_ d: Device, widths: [Int], filters: Int, channels: Int, maxT: Int, maxB: Int, training: Bool) throws {
        self.widths = widths; self.filters = filters; self.channels = channels; self.maxT = maxT; self.maxB = maxB
        weights = try widths.enumerated().map { try Parameter(d, "convs.\($0.offset).weight", [filters, channels, $0.element], training: training) }
        biases = try widths.indices.map { try Parameter(d, "convs.\($0).bias", [filters], training: training) }
        xT = try d.allocate(maxB * channels * maxT)
        ys = try widths.map { try d.allocate(maxB * filters * (maxT - $0 + 1)) }
        pooled = try widths.map { _ in try d.allocate(maxB * filters) }
        argmax = try widths.map { _ in try d.allocate(maxB * filters) }
        concat = try d.allocate(maxB * filters * widths.count)
        dPooled = try d.allocate(maxB * filters, training: training)
        dXT = try d.allocate(maxB * channels * maxT, training: training)
        dXTPart = try d.allocate(maxB * channels * maxT, training: training)
        dEmb = try d.allocate(maxB * maxT * channels, training: training)
        dYs = try widths.map { try d.allocate(maxB * filters * (maxT - $0 + 1), training: training) }
    }

    var parameters: [Parameter] { zip(weights, biases).flatMap { [$0, $1] } }
    var width: Int { filters * widths.count }

    func shape(_ i: Int, T: Int, b: Int) -> Conv1DShape {
        Conv1DShape(batch: b, inChannels: channels, outChannels: filters, length: T, kernel: widths[i])
    }

    // emb (b, T, E) → concat (b, F·W)
    func forward(_ d: Device, emb: View, T: Int, b: Int) throws -> View {
        let x = xT.view.slice(0, b * channels * T)
        try d.transpose(batch: b, rows: T, cols: channels, src: emb, dst: x)
        let out = concat.view.slice(0, b * width)
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].view.slice(0, b * filters * s.outLength)
            try d.conv1dForward(s, x: x, w: weights[i].value.view, bias: biases[i].value.view, y: y)
            try d.unary(.relu, x: y, y: y)
            let p = PoolShape(batch: b, channels: filters, length: s.outLength, window: s.outLength)
            try d.maxPoolForward(p, x: y, y: pooled[i].view.slice(0, b * filters), argmax: argmax[i].view.slice(0, b * filters))
            try d.copy2D(rows: b, cols: filters, src: pooled[i].view, srcStride: filters, dst: out.slice(i * filters, out.count - i * filters), dstStride: width)
        }
        return out
    }

    // dConcat (b, F·W) → parameter gradients and dEmb (b, T, E)
    func backward(_ d: Device, dConcat: View, T: Int, b: Int) throws -> View {
        let x = xT.view.slice(0, b * channels * T), dx = dXT.view.slice(0, x.count), part = dXTPart.view.slice(0, x.count)
        for i in widths.indices {
            let s = shape(i, T: T, b: b), y = ys[i].view.slice(0, b * filters * s.outLength)
            let dp = dPooled.view.slice(0, b * filters)
            try d.copy2D(rows: b, cols: filters, src: dConcat.slice(i * filters, dConcat.count - i * filters), srcStride: width, dst: dp, dstStride: filters)
            let p = PoolShape(batch: b, channels: filters, length: s.outLength, window: s.outLength)
            let dY = dYs[i].view.slice(0, y.count)
            try d.maxPoolBackward(p, dy: dp, argmax: argmax[i].view.slice(0, b * filters), dx: dY)
            try d.unaryBackward(.relu, saved: y, dy: dY, dx: dY)
            try d.conv1dBackwardWeight(s, x: x, dy: dY, dw: weights[i].grad.view, db: biases[i].grad.view)
            try d.conv1dBackwardData(s, dy: dY, w: weights[i].value.view, dx: i == 0 ? dx : part)
            if i > 0 { try d.binary(.add, a: dx, b: part, y: dx) }
        }
        let out = dEmb.view.slice(0, b * T * channels)
        try d.transpose(batch: b, rows: channels, cols: T, src: dx, dst: out)
        return out
    }
}
