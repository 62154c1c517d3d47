import Foundation

/// A checkpoint is a folder with two safetensors files:
/// - `model.safetensors`: exactly the PyTorch `state_dict` of the equivalent module, with the model
///   config and the data description (vocabulary, labels, normalisation) in its metadata;
/// - `trainer.safetensors`: optimizer moments, carried recurrent state, step and run settings.
/// Both carry an FNV-1a checksum of their tensors; the trainer file also records the model file's.
///
/// Saving is atomic (`save(in:step:)`).
public struct Checkpoint: Sendable {
    /// model.safetensors: the parameters under PyTorch's names.
    public var model: [String: Safetensors.Tensor]
    /// model.safetensors metadata: config, data description, checksum.
    public var modelMetadata: [String: String]
    /// trainer.safetensors: optimizer moments and carried state.
    public var trainer: [String: Safetensors.Tensor] = [:]
    /// trainer.safetensors metadata: step, early-stopping state, checksums.
    public var trainerMetadata: [String: String] = [:]

    /// A checkpoint that cannot be read or does not fit; one line naming the file and the problem.
    public struct LoadError: Error, CustomStringConvertible { public let description: String }

    /// The model configuration stored in the metadata.
    public var config: ModelConfig {
        get throws {
            guard let text = modelMetadata["recur.config"], let c = try? JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8)) else {
                throw LoadError(description: "checkpoint has no valid recur.config metadata")
            }
            return c
        }
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }

    static func jsonString<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder().encode(v), as: UTF8.self) }

    /// Captures the model's parameters (and, with an optimizer, its moments and the carried state).
    static func capture(_ model: Model, data: [String: String], optimizer: Optimizer?, trainer: [String: String]) throws -> Checkpoint {
        var params: [(String, Safetensors.Tensor)] = []
        for p in model.parameters { params.append((p.name, Safetensors.Tensor(try model.device.download(p.value.view), shape: p.shape))) }
        var modelMeta = data
        modelMeta["format"] = "pt"
        modelMeta["recur.config"] = try jsonString(model.config)
        modelMeta["recur.seed"] = String(model.seed)
        let modelDict = Dictionary(uniqueKeysWithValues: params)
        modelMeta["recur.checksum"] = Safetensors.checksum(modelDict)
        var c = Checkpoint(model: modelDict, modelMetadata: modelMeta)
        if let optimizer {
            var t: [String: Safetensors.Tensor] = [:]
            for p in model.parameters {
                for (i, m) in p.moments.enumerated() { t["optimizer.\(p.name).\(i)"] = Safetensors.Tensor(try model.device.download(m.view), shape: p.shape) }
            }
            for (i, s) in model.stateBuffers.enumerated() { t["state.\(i)"] = Safetensors.Tensor(try model.device.download(s.view), shape: [s.count]) }
            var meta = trainer
            meta["recur.optimizer"] = try jsonString(optimizer.config)
            meta["recur.optimizer_step"] = String(optimizer.t)
            meta["recur.model_checksum"] = modelMeta["recur.checksum"]
            meta["recur.checksum"] = Safetensors.checksum(t)
            c.trainer = t
            c.trainerMetadata = meta
        }
        return c
    }

    /// Copies parameters (checking names, shapes and dtypes against the model) into the model.
    public func restore(into model: Model) throws { try restore(into: model, optimizer: nil) }

    func restore(into model: Model, optimizer: Optimizer?) throws {
        for p in model.parameters {
            guard let t = self.model[p.name] else { throw LoadError(description: "checkpoint lacks tensor \(p.name) (another model family or size?)") }
            guard t.shape == p.shape, t.dtype == "F32" else {
                throw LoadError(description: "tensor \(p.name) has \(t.dtype) \(t.shape) in the checkpoint, the model needs F32 \(p.shape)")
            }
            try model.device.upload(t.bits, to: p.value.view)
        }
        let extra = Set(self.model.keys).subtracting(model.parameters.map(\.name))
        guard extra.isEmpty else { throw LoadError(description: "checkpoint has tensors the model lacks: \(extra.sorted().prefix(3).joined(separator: ", "))") }
        guard let optimizer else { return }
        for p in model.parameters {
            for (i, m) in p.moments.enumerated() {
                guard let t = trainer["optimizer.\(p.name).\(i)"], t.bits.count == p.count else {
                    throw LoadError(description: "trainer state lacks optimizer.\(p.name).\(i) (another optimizer?)")
                }
                try model.device.upload(t.bits, to: m.view)
            }
        }
        for (i, s) in model.stateBuffers.enumerated() {
            guard let t = trainer["state.\(i)"], t.bits.count == s.count else { throw LoadError(description: "trainer state lacks state.\(i)") }
            try model.device.upload(t.bits, to: s.view)
        }
        optimizer.t = Int(trainerMetadata["recur.optimizer_step"] ?? "") ?? 0
    }
}
