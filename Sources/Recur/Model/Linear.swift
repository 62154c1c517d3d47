/// nn.Linear: weight (out, in), bias (out). y = x·Wᵀ + b.
final class Linear {
    let inputs: Int, outputs: Int
    let weight: Parameter, bias: Parameter
    let output: View        // (N_max, out)
    let dInput: View        // (N_max, in)

    /// Weight, bias, output and ∂input for `maxRows` rows. `dInput`: a planned tensor of at least
    /// maxRows × inputs whose region ∂input may share (it holds nothing the head's backward still
    /// needs); without `inputGradient` backward is never asked for ∂input and it is a placeholder.
    static func plan(_ plan: inout MemoryPlan, prefix: String, inputs: Int, outputs: Int, maxRows: Int, training: Bool,
                     dInput: String? = nil, inputGradient: Bool = true, facts: DeviceFacts) {
        plan.uses(.matmul(MatmulShape(m: maxRows, n: outputs, k: inputs, transB: true)), facts)
        Parameter.plan(&plan, prefix + "weight", [outputs, inputs], training: training)
        Parameter.plan(&plan, prefix + "bias", [outputs], training: training)
        plan.add(prefix + "output", maxRows * outputs, training ? .saved : .forward)
        let n = maxRows * inputs
        if let dInput, let shared = plan[dInput], shared.elements >= n { plan.add(prefix + "dInput", n, .backward, shares: dInput) }
        else { plan.add(prefix + "dInput", training && inputGradient ? n : 1, .backward) }
    }

    init(_ arena: Arena, _ device: Device, prefix: String, inputs: Int, outputs: Int) throws {
        self.inputs = inputs; self.outputs = outputs
        weight = try Parameter(arena, device, prefix + "weight", [outputs, inputs])
        bias = try Parameter(arena, device, prefix + "bias", [outputs])
        output = arena.view(prefix + "output")
        dInput = arena.view(prefix + "dInput")
    }

    var parameters: [Parameter] { [weight, bias] }

    // x (N, in) → y (N, out)
    func forward(_ d: Device, _ x: View, rows: Int) throws -> View {
        let y = output.slice(0, rows * outputs)
        try d.matmul(MatmulShape(m: rows, n: outputs, k: inputs, transB: true), a: x, b: weight.value.view, c: y, start: .bias(bias.value.view))
        return y
    }

    // dy (N, out) → dW = dyᵀ·x, db = Σ_rows dy, and dx = dy·W when wanted
    func backward(_ d: Device, x: View, dy: View, rows: Int, needInput: Bool = true) throws -> View? {
        try d.matmul(MatmulShape(m: outputs, n: inputs, k: rows, transA: true), a: dy, b: x, c: weight.grad.view)
        try d.colSum(rows: rows, cols: outputs, x: dy, y: bias.grad.view)
        guard needInput else { return nil }
        let dx = dInput.slice(0, rows * inputs)
        try d.matmul(MatmulShape(m: rows, n: inputs, k: outputs), a: dy, b: weight.value.view, c: dx)
        return dx
    }
}
