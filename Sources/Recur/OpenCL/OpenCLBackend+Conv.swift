import Foundation

/// Convolutions and max-pooling over time; twin of CPUBackend+Conv.swift.
extension OpenCLBackend {
    private func convArgs(_ s: Conv1DShape) -> [Arg] {
        [.int(s.batch), .int(s.inChannels), .int(s.outChannels), .int(s.length), .int(s.kernel),
         .int(s.stride), .int(s.padding), .int(s.dilation), .int(s.outLength)]
    }

    /// `RECUR_DW_BLOCK`, read once: overrides the dW chain block below, for measuring.
    private static let dwBlockOverride = Int(ProcessInfo.processInfo.environment["RECUR_DW_BLOCK"] ?? "")

    /// (b, t) positions of the dW chain per launch of `conv1d_backward_weight_rb`: the matmul's k-block times 8.
    private var convChainBlock: Int { Self.dwBlockOverride ?? 8 * tuning.kBlock }

    /// The register-blocked conv kernels serve stride 1 on devices tuned for `matmul_rb`.
    func convBlocked(_ s: Conv1DShape) -> Bool { tuning.matmul == .rb && s.stride == 1 }

    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        if convBlocked(s) {
            try launch("conv1d_forward_rb", blocks(rows: s.outChannels, cols: s.outLength, depth: s.batch),
                       convArgs(s) + [.view(x), .view(w), .view(bias), .view(y)], local: [1, 1, 1])
            return
        }
        try launch("conv1d_forward", [s.outLength, s.outChannels, s.batch], convArgs(s) + [.view(x), .view(w), .view(bias), .view(y)])
    }

    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        guard convBlocked(s) else {
            try launch("conv1d_backward_data", [s.length, s.inChannels, s.batch], convArgs(s) + [.view(dy), .view(w), .view(dx)])
            return
        }
        try exclusive {
            // w as (Cout, K, Cin) for the edges
            let wt = try transposed(rows: s.inChannels, cols: s.kernel, ld: s.kernel, stride: s.inChannels * s.kernel, copies: s.outChannels, w)
            try launch("conv1d_backward_data_rb", blocks(rows: s.inChannels, cols: s.length, depth: s.batch),
                       convArgs(s) + [.view(dy), .view(w), .view(wt), .view(dx)], local: [1, 1, 1])
        }
    }

    /// The blocked dW reads x transposed per batch (T × Cin, in the transpose scratch).
    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        if convBlocked(s) {
            try exclusive {
                let xt = try transposed(rows: s.inChannels, cols: s.length, ld: s.length, stride: s.inChannels * s.length, copies: s.batch, x)
                let chain = s.batch * s.outLength
                let block = s.inChannels >= 16 * tuning.rbV && s.outChannels >= tuning.rbM && tuning.kBlock > 0 ? convChainBlock : chain
                for q0 in stride(from: 0, to: chain, by: block) {
                    try launch("conv1d_backward_weight_rb", blocks(rows: s.outChannels, cols: s.inChannels, depth: s.kernel),
                               convArgs(s) + [.int(q0), .int(min(chain, q0 + block)), .view(x), .view(xt), .view(dy), .view(dw)], local: [1, 1, 1])
                }
            }
        } else {
            try launch("conv1d_backward_weight", [s.kernel, s.inChannels, s.outChannels], convArgs(s) + [.view(x), .view(dy), .view(dw)])
        }
        try launch("conv1d_backward_bias", [s.outChannels], [.int(s.batch), .int(s.outChannels), .int(s.outLength), .view(dy), .view(db)])
    }

    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {
        let bc = s.batch * s.channels
        try launch("maxpool_forward", [s.outLength, bc],
                   [.int(bc), .int(s.length), .int(s.window), .int(s.stride), .int(s.outLength), .view(x), .view(y), .view(argmax)])
    }

    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {
        let bc = s.batch * s.channels
        try launch("maxpool_backward", [s.length, bc],
                   [.int(bc), .int(s.length), .int(s.window), .int(s.stride), .int(s.outLength), .view(dy), .view(argmax), .view(dx)])
    }
}
