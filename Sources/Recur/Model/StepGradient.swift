/// Where a recurrent layer's backward finds ∂L/∂h_t of each step, from what reads its output.
enum StepGradient {
    /// (T, b, H): every step's ∂h, stored.
    case stored(View)
    /// ∂h_t = A_t·W, made as each step needs it: A (T, b, k) and W (k, H) as stored. Each row's
    /// product is its own chain, so the bits equal those of `.stored` holding one product over all
    /// T·b rows, without a (T, b, H) buffer: A is the gate gradients of the layer above (its W_ih) or
    /// a language model's logit gradients (the head's weight). For devices that read W as stored
    /// (`DeviceBackend.stepwiseGradients`): a device that packs B would pack W for every step.
    case product(a: View, w: View, k: Int)

    /// dht = ∂h_t + dhNext for rows `rows` of a batch of b.
    func add(_ d: Device, t: Int, b: Int, rows: Range<Int>, hidden: Int, dhNext: View, into dht: View) throws {
        let r = rows.count, row0 = t * b + rows.lowerBound
        switch self {
        case .stored(let dH):
            try d.binary(.add, a: dH.slice(row0 * hidden, r * hidden), b: dhNext, y: dht)
        case .product(let a, let w, let k):
            try d.matmul(MatmulShape(m: r, n: hidden, k: k), a: a.slice(row0 * k, r * k), b: w, c: dht)
            try d.binary(.add, a: dht, b: dhNext, y: dht)
        }
    }
}
