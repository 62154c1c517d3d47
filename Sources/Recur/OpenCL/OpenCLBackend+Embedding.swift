import Foundation

/// Embedding gathers, per-token sums and the token convolution; twin of the embedding ops of CPUBackend+Recurrent.swift and of CPUBackend+TokenConv.swift.
extension OpenCLBackend {
    func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws {
        try launch("embedding_forward", [dim, indices.count],
                   [.int(vocab), .int(dim), .int(indices.count), .view(table), .view(indices), .view(out)])
    }

    /// Each token's positions, ascending, in the scratch buffer (`embedding_order`): order (n), start
    /// (vocab), end (vocab), so a per-token sum reads only its own rows.
    private func tokenOrder(_ tokens: View, vocab: Int) throws -> View {
        let n = tokens.count, order = try scratchBuffer(n + 2 * vocab).view
        try launch("embedding_order", [vocab], [.int(vocab), .int(n), .view(tokens), .view(order)])
        return order
    }

    func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws {
        try exclusive {
            let order = try tokenOrder(indices, vocab: vocab)
            try launch("embedding_backward", [dim, vocab],
                       [.int(vocab), .int(dim), .int(indices.count), .view(dOut), .view(order), .view(dTable)])
        }
    }

    func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws {
        try launch("token_conv_forward", [s.filters, s.outLength, s.batch],
                   [.int(s.vocab), .int(s.filters), .int(s.kernel), .int(s.length), .int(s.outLength),
                    .view(table), .view(bias), .view(tokens), .view(y)])
    }

    func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws {
        try exclusive {
            let n = s.batch * s.length, order = try tokenOrder(tokens.slice(0, n), vocab: s.vocab)
            try launch("token_conv_backward", [s.kernel * s.filters, s.vocab],
                       [.int(s.vocab), .int(s.filters), .int(s.kernel), .int(s.length), .int(s.outLength), .int(n),
                        .view(dy), .view(order), .view(sums)])
        }
    }
}
