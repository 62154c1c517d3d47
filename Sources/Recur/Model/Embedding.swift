/// nn.Embedding: weight (V, D). Forward gathers rows; backward sums rows per token in position order.
final class Embedding {
    let vocab: Int, dim: Int
    let weight: Parameter
    let output: Buffer      // (N_max, D)

    init(_ device: Device, prefix: String, vocab: Int, dim: Int, maxTokens: Int, training: Bool) throws {
        self.vocab = vocab; self.dim = dim
        weight = try Parameter(device, prefix + "weight", [vocab, dim], training: training)
        output = try device.allocate(maxTokens * dim)
    }

    var parameters: [Parameter] { [weight] }

    // indices (N) → output (N, D)
    func forward(_ d: Device, indices: View) throws -> View {
        let out = output.view.slice(0, indices.count * dim)
        try d.embeddingForward(vocab: vocab, dim: dim, table: weight.value.view, indices: indices, out: out)
        return out
    }

    // dOut (N, D) → weight.grad (V, D), overwritten
    func backward(_ d: Device, indices: View, dOut: View) throws {
        try d.embeddingBackward(vocab: vocab, dim: dim, dOut: dOut, indices: indices, dTable: weight.grad.view)
    }
}
