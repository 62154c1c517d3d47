import Foundation

/// Fused LSTM and GRU cells; twin of CPUBackend+Recurrent.swift.
extension OpenCLBackend {
    /// A cell kernel and its global size: the `16` variant over hidden / 16 where the tuning asks for it
    /// and the hidden size is whole vectors, else a unit per work-item.
    private func cell(_ name: String, hidden: Int, batch: Int) -> (String, [Int]) {
        cells16 && hidden % 16 == 0 ? (name + "16", [hidden / 16, batch]) : (name, [hidden, batch])
    }

    func lstmForward(batch: Int, hidden: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws {
        let (kernel, global) = cell("lstm_forward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(gates), .view(cPrev), .view(act), .view(c), .view(h)])
    }

    func lstmBackward(batch: Int, hidden: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?,
                             dGates: View, dcPrev: View) throws {
        let (kernel, global) = cell("lstm_backward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(act), .view(cPrev), .view(c), .view(dh),
                    .int(dcNext == nil ? 0 : 1), .view(dcNext ?? dh), .view(dGates), .view(dcPrev)])
    }

    func gruForward(batch: Int, hidden: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws {
        let (kernel, global) = cell("gru_forward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(gi), .view(gh), .view(hPrev), .view(act), .view(h)])
    }

    func gruBackward(batch: Int, hidden: Int, act: View, hPrev: View, dh: View, dgi: View, dgh: View, dhPrev: View) throws {
        try launch("gru_backward", [hidden, batch],
                   [.int(batch), .int(hidden), .view(act), .view(hPrev), .view(dh), .view(dgi), .view(dgh), .view(dhPrev)])
    }
}
