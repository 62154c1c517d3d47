/// nn.Linear: weight (out, in), bias (out). y = x·Wᵀ + b.
final class Linear {
    let inputs: Int, outputs: Int
    let weight: Parameter, bias: Parameter
    let output: Buffer      // (N_max, out)
    let dInput: Buffer      // (N_max, in)

    /// `dInput`: a buffer of at least maxRows × inputs to write dx into instead of one of its own.
    /// Without `inputGradient`, backward is never asked for dx and no buffer is made for it.
    init(_ device: Device, prefix: String, inputs: Int, outputs: Int, maxRows: Int, training: Bool, dInput: Buffer? = nil,
         inputGradient: Bool = true) throws {
        self.inputs = inputs; self.outputs = outputs
        weight = try Parameter(device, prefix + "weight", [outputs, inputs], training: training)
        bias = try Parameter(device, prefix + "bias", [outputs], training: training)
        output = try device.allocate(maxRows * outputs)
        if let dInput, dInput.count >= maxRows * inputs { self.dInput = dInput }
        else { self.dInput = try device.allocate(maxRows * inputs, training: training && inputGradient) }
    }

    var parameters: [Parameter] { [weight, bias] }

    // x (N, in) → y (N, out)
    func forward(_ d: Device, _ x: View, rows: Int) throws -> View {
        let y = output.view.slice(0, rows * outputs)
        try d.matmul(MatmulShape(m: rows, n: outputs, k: inputs, transB: true), a: x, b: weight.value.view, c: y, start: .bias(bias.value.view))
        return y
    }

    // dy (N, out) → dW = dyᵀ·x, db = Σ_rows dy, and dx = dy·W when wanted
    func backward(_ d: Device, x: View, dy: View, rows: Int, needInput: Bool = true) throws -> View? {
        try d.matmul(MatmulShape(m: outputs, n: inputs, k: rows, transA: true), a: dy, b: x, c: weight.grad.view)
        try d.colSum(rows: rows, cols: outputs, x: dy, y: bias.grad.view)
        guard needInput else { return nil }
        let dx = dInput.view.slice(0, rows * inputs)
        try d.matmul(MatmulShape(m: rows, n: inputs, k: outputs), a: dy, b: weight.value.view, c: dx)
        return dx
    }
}
