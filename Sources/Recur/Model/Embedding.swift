/// nn.Embedding: weight (V, D). Forward gathers rows; backward sums rows per token in position order.
final class Embedding {
    let vocab: Int, dim: Int
    let weight: Parameter
    let output: View        // (N_max, D)

    /// The table, and the output for `maxTokens` positions.
    static func plan(_ plan: inout MemoryPlan, prefix: String, vocab: Int, dim: Int, maxTokens: Int, training: Bool, facts: DeviceFacts) {
        if training { plan.uses(.tokenOrder(tokens: maxTokens, vocab: vocab), facts) }
        Parameter.plan(&plan, prefix + "weight", [vocab, dim], training: training)
        plan.add(prefix + "output", maxTokens * dim, training ? .saved : .forward)
    }

    init(_ arena: Arena, _ device: Device, prefix: String, vocab: Int, dim: Int) throws {
        self.vocab = vocab; self.dim = dim
        weight = try Parameter(arena, device, prefix + "weight", [vocab, dim])
        output = arena.view(prefix + "output")
    }

    var parameters: [Parameter] { [weight] }

    // indices (N) → output (N, D)
    func forward(_ d: Device, indices: View) throws -> View {
        let out = output.slice(0, indices.count * dim)
        try d.embeddingForward(vocab: vocab, dim: dim, table: weight.value.view, indices: indices, out: out)
        return out
    }

    // dOut (N, D) → weight.grad (V, D), overwritten
    func backward(_ d: Device, indices: View, dOut: View) throws {
        try d.embeddingBackward(vocab: vocab, dim: dim, dOut: dOut, indices: indices, dTable: weight.grad.view)
    }
}
