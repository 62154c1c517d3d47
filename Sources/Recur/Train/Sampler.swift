/// Sampling from logits on the host with the portable exp and a Philox draw, so the same seed gives
/// the same text on every device (whose logits are identical).
public enum Sampler {
    /// Index drawn from softmax(logits / temperature) restricted to the top k (0: all); ties keep the first index.
    public static func sample(_ logits: [Float], temperature: Float, topK: Int, seed: UInt64, position: UInt32) -> Int {
        let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        let kept = topK > 0 ? Array(order.prefix(topK)) : order
        let m = logits[kept[0]]
        let weights = kept.map { PortableMath.exp((logits[$0] - m) / temperature) }
        var total: Float = 0
        for w in weights { total = total + w }
        let u = Philox.uniform(seed: seed, stream: 0x5A3B1E, position: position) * total
        var acc: Float = 0
        for (i, w) in weights.enumerated() {
            acc = acc + w
            if u < acc { return kept[i] }
        }
        return kept[kept.count - 1]
    }
}
