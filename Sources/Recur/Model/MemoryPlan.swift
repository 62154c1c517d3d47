/// What a tensor holds over a training step, which says when its memory is in use.
public enum Lifetime: String, CaseIterable, Sendable, Codable {
    /// The weights, for the model's whole life.
    case parameter
    /// ∂weights: written by backward, read by the update.
    case gradient
    /// The optimizer's moments and clipping norms, for the whole run.
    case optimizer = "optimizer state"
    /// A batch's tokens, labels, values and targets, uploaded before its forward.
    case input
    /// Made from the weights at the start of a forward (packed or transposed weights, bias sums, a
    /// folded embedding table); a generating model keeps them while its weights stay as they are.
    case derived
    /// Used within one forward only (an inference model's activations).
    case forward = "forward only"
    /// Written by forward and read again by backward (a training model's activations).
    case saved = "saved for backward"
    /// Used within one backward only.
    case backward = "backward scratch"
    /// Used within a forward and again within the backward, holding nothing from one to the other.
    case scratch = "step scratch"
    /// The device's own scratch (a transposed operand, partial sums), sized for the largest op the
    /// model runs and shared with everything else on the device.
    case device = "device scratch"
}

/// One tensor of a model's memory plan: its name, size and lifetime, and the region (`slot`) of
/// device memory it lives in, at `offset` elements. Tensors share a slot only where one's use ends
/// before the other's begins within every step (each such sharing is declared, with the reason, by
/// the layer that owns both).
public struct PlannedTensor: Sendable, Equatable {
    /// `<layer>.<field>`, or a parameter's state_dict name (`.grad`, `.m`, … for its companions).
    public let name: String
    /// Four-byte elements.
    public let elements: Int
    public let lifetime: Lifetime
    /// The region it lives in: its own name unless it shares one.
    public let slot: String
    /// Its first element in that region.
    public let offset: Int
}

/// Every tensor a model (and its trainer) holds on a device, laid out into regions once, before
/// anything is allocated: memory admission reads `totalBytes`, a model is built on the regions
/// (`Arena`), and `recur plan` prints `table`. Each region is one device buffer.
public struct MemoryPlan: Sendable {
    /// In declaration order: parameters first, in state_dict order, then each layer's tensors.
    public private(set) var tensors: [PlannedTensor] = []

    /// A region of device memory: one buffer.
    public struct Slot: Sendable, Equatable {
        public let name: String
        /// The elements its largest tensor (offset included) needs.
        public var elements: Int
        /// The lifetime of the tensor that opened it: the class its bytes are counted under.
        public let lifetime: Lifetime
    }
    /// Regions in the order they were opened.
    public private(set) var slots: [Slot] = []
    /// The device scratch the planned ops need (`uses`).
    public private(set) var deviceScratch = ScratchNeed()
    private var slotIndex: [String: Int] = [:]
    private var tensorIndex: [String: Int] = [:]

    init() {}

    /// Declares a tensor; `shares` names the region of an earlier tensor it may live in (at
    /// `offset`), nil for a region of its own. Names are unique.
    mutating func add(_ name: String, _ elements: Int, _ lifetime: Lifetime, shares slot: String? = nil, offset: Int = 0) {
        precondition(tensorIndex[name] == nil, "tensor \(name) planned twice")
        precondition(elements >= 0 && offset >= 0)
        let region = slot.map { tensors[tensorIndex[$0]!].slot } ?? name
        tensorIndex[name] = tensors.count
        tensors.append(PlannedTensor(name: name, elements: elements, lifetime: lifetime, slot: region, offset: offset))
        if let i = slotIndex[region] {
            slots[i].elements = max(slots[i].elements, offset + elements)
        } else {
            slotIndex[region] = slots.count
            slots.append(Slot(name: region, elements: offset + elements, lifetime: lifetime))
        }
    }

    /// Records that an op runs at most at this shape, so the device's scratch is reserved for it.
    mutating func uses(_ op: ScratchOp, _ facts: DeviceFacts) { deviceScratch.cover(facts.scratch(op)) }

    /// Adds the device scratch the recorded ops need as tensors of their own (`Lifetime.device`):
    /// the device allocates them when the model reserves them, not the model's `Arena`.
    mutating func addDeviceScratch() {
        if deviceScratch.transposed > 0 { add("device.transposed", deviceScratch.transposed, .device) }
        if deviceScratch.partials > 0 { add("device.partials", deviceScratch.partials, .device) }
    }

    /// The tensor named `name`.
    public subscript(name: String) -> PlannedTensor? { tensorIndex[name].map { tensors[$0] } }

    /// The region named `name`.
    func slot(_ name: String) -> Slot? { slotIndex[name].map { slots[$0] } }

    /// Bytes allocated for each lifetime class (a region counts under the tensor that opened it).
    public var bytesByLifetime: [Lifetime: UInt64] {
        var out: [Lifetime: UInt64] = [:]
        for s in slots { out[s.lifetime, default: 0] += UInt64(s.elements) * 4 }
        return out
    }

    /// Bytes of the model's own regions (all but the device's scratch).
    public var modelBytes: UInt64 { totalBytes - (bytesByLifetime[.device] ?? 0) }

    /// Bytes the device allocates for the whole plan.
    public var totalBytes: UInt64 { slots.reduce(0) { $0 + UInt64($1.elements) * 4 } }

    /// The plan's totals in the classes memory admission reports.
    public var need: MemoryNeed {
        let b = bytesByLifetime
        let p = b[.parameter] ?? 0, g = b[.gradient] ?? 0, o = b[.optimizer] ?? 0
        return MemoryNeed(parameters: p, gradients: g, optimizer: o, activations: totalBytes - p - g - o)
    }

    /// One line per tensor (name, lifetime, elements, region and offset; a tensor sharing another's
    /// region is marked), then the bytes per lifetime class and the total.
    public var table: String {
        let width = max(6, tensors.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func left(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        var lines = [pad("tensor", width) + "  " + pad("lifetime", 18) + "  " + left("elements", 12) + "  " + left("offset", 10) + "  region"]
        for t in tensors {
            let own = t.slot == t.name
            lines.append(pad(t.name, width) + "  " + pad(t.lifetime.rawValue, 18) + "  " + left(String(t.elements), 12) + "  "
                         + left(String(t.offset), 10) + "  " + (own ? "own" : "shares \(t.slot)"))
        }
        lines.append("")
        let b = bytesByLifetime
        for l in Lifetime.allCases where b[l] != nil { lines.append(pad(l.rawValue, 20) + left(mb(b[l]!), 12)) }
        lines.append(pad("total", 20) + left(mb(totalBytes), 12) + "  (\(slots.count) buffers)")
        return lines.joined(separator: "\n")
    }
}

/// A plan's regions allocated on a device, and each tensor's view of its region.
final class Arena {
    let plan: MemoryPlan
    private var buffers: [String: Buffer] = [:]

    /// Allocates every region of `plan` on `device`.
    init(_ plan: MemoryPlan, device: Device) throws {
        self.plan = plan
        for s in plan.slots where s.lifetime != .device { buffers[s.name] = try device.allocate(s.elements) }
    }

    /// The view of the planned tensor `name`.
    func view(_ name: String) -> View {
        guard let t = plan[name] else { preconditionFailure("tensor \(name) was not planned") }
        return View(buffer: buffers[t.slot]!, offset: t.offset, count: t.elements)
    }

    /// The whole buffer of a tensor that has its region to itself (a parameter's value or gradient).
    func buffer(_ name: String) -> Buffer {
        guard let t = plan[name], t.slot == name, t.offset == 0 else { preconditionFailure("tensor \(name) does not own its region") }
        return buffers[name]!
    }
}
