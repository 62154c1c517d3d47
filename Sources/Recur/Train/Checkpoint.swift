import Foundation

/// A checkpoint is a folder with two safetensors files:
/// - `model.safetensors`: exactly the PyTorch `state_dict` of the equivalent module, with the model
///   config and the data description (vocabulary, labels, normalisation) in its metadata;
/// - `trainer.safetensors`: optimizer moments, carried recurrent state, step and run settings.
/// Each file carries an FNV-1a checksum of its tensors (`recur.checksum`) and one of its other
/// metadata (`recur.metadata_checksum`); the trainer file also records the model file's tensor
/// checksum. Saving is atomic (`save(in:step:)`); loading checks everything (`load`).
public struct Checkpoint: Sendable {
    /// model.safetensors: the parameters under PyTorch's names.
    public var model: [String: Safetensors.Tensor]
    /// model.safetensors metadata: config, data description, seed, checksums.
    public var modelMetadata: [String: String]
    /// trainer.safetensors: optimizer moments and carried state.
    public var trainer: [String: Safetensors.Tensor] = [:]
    /// trainer.safetensors metadata: step, optimizer, run options, early-stopping state, checksums.
    public var trainerMetadata: [String: String] = [:]
    /// Where the model file was read from (its name alone for a checkpoint not read from disk); errors name it.
    public internal(set) var modelFile = "model.safetensors"
    /// Where the trainer file was read from; errors name it.
    public internal(set) var trainerFile = "trainer.safetensors"

    /// A checkpoint that cannot be read or does not fit; one line naming the file and the problem.
    public struct LoadError: Error, CustomStringConvertible { public let description: String }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }

    static func jsonString<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder().encode(v), as: UTF8.self) }

    /// Captures the model's parameters (and, with an optimizer, its moments and the carried state).
    static func capture(_ model: Model, data: [String: String], optimizer: Optimizer?, trainer: [String: String]) throws -> Checkpoint {
        var modelDict: [String: Safetensors.Tensor] = [:]
        for p in model.parameters { modelDict[p.name] = Safetensors.Tensor(try model.device.download(p.value.view), shape: p.shape) }
        var modelMeta = data
        modelMeta["format"] = "pt"
        modelMeta["recur.config"] = try jsonString(model.config)
        modelMeta["recur.seed"] = String(model.seed)
        modelMeta["recur.checksum"] = Safetensors.checksum(modelDict)
        modelMeta[metadataChecksumKey] = metadataChecksum(modelMeta)
        var c = Checkpoint(model: modelDict, modelMetadata: modelMeta)
        if let optimizer {
            var t: [String: Safetensors.Tensor] = [:]
            for p in model.parameters {
                for (i, m) in p.moments.enumerated() { t["optimizer.\(p.name).\(i)"] = Safetensors.Tensor(try model.device.download(m.view), shape: p.shape) }
            }
            for (i, s) in model.stateBuffers.enumerated() { t["state.\(i)"] = Safetensors.Tensor(try model.device.download(s), shape: [s.count]) }
            var meta = trainer
            meta["recur.optimizer"] = try jsonString(optimizer.config)
            meta["recur.optimizer_step"] = String(optimizer.t)
            meta["recur.model_checksum"] = modelMeta["recur.checksum"]
            meta["recur.checksum"] = Safetensors.checksum(t)
            meta[metadataChecksumKey] = metadataChecksum(meta)
            c.trainer = t
            c.trainerMetadata = meta
        }
        return c
    }

    /// The first tensor (model file, then trainer file, in name order) holding a NaN or an infinity,
    /// as "`name` (file)"; nil when every value is finite. A training run never saves such a checkpoint.
    var firstNonFinite: String? {
        for (tensors, file) in [(model, "model"), (trainer, "trainer state")] {
            for name in tensors.keys.sorted() where tensors[name]!.dtype == "F32" {
                if tensors[name]!.bits.contains(where: { !Float(bitPattern: $0).isFinite }) { return "\(name) (\(file))" }
            }
        }
        return nil
    }

    /// Copies parameters (checking names, shapes and dtypes against the model) into the model.
    public func restore(into model: Model) throws { try restore(into: model, optimizer: nil) }

    /// Checks every tensor against the model (and the optimizer's moments and the carried state
    /// against the trainer) before copying any, so a checkpoint that does not fit changes nothing.
    func restore(into model: Model, optimizer: Optimizer?) throws {
        var uploads: [(bits: [UInt32], to: View)] = []
        for p in model.parameters {
            guard let t = self.model[p.name] else { throw LoadError(description: "\(modelFile): lacks tensor \(p.name) (another model family or size?)") }
            guard t.shape == p.shape, t.dtype == "F32" else {
                throw LoadError(description: "\(modelFile): tensor \(p.name) has \(t.dtype) \(t.shape), the model needs F32 \(p.shape)")
            }
            uploads.append((t.bits, p.value.view))
        }
        let extra = Set(self.model.keys).subtracting(model.parameters.map(\.name))
        guard extra.isEmpty else { throw LoadError(description: "\(modelFile): has tensors the model lacks: \(extra.sorted().prefix(3).joined(separator: ", "))") }
        var optimizerStep = 0
        if let optimizer {
            let state = try trainerState
            guard state.optimizer.kind == optimizer.config.kind else {
                throw LoadError(description: "\(trainerFile): recur.optimizer: the checkpoint's optimizer is \(state.optimizer.kind.rawValue), the trainer's is \(optimizer.config.kind.rawValue)")
            }
            var expected = Set<String>()
            func take(_ name: String, _ view: View, shape: [Int]) throws {
                guard let t = trainer[name], t.dtype == "F32", t.shape == shape else {
                    throw LoadError(description: "\(trainerFile): lacks F32 tensor \(name) of shape \(shape) (another optimizer or model?)")
                }
                expected.insert(name)
                uploads.append((t.bits, view))
            }
            for p in model.parameters {
                for (i, m) in p.moments.enumerated() { try take("optimizer.\(p.name).\(i)", m.view, shape: p.shape) }
            }
            for (i, s) in model.stateBuffers.enumerated() { try take("state.\(i)", s, shape: [s.count]) }
            let unknown = Set(trainer.keys).subtracting(expected)
            guard unknown.isEmpty else {
                throw LoadError(description: "\(trainerFile): has tensors this trainer does not keep: \(unknown.sorted().prefix(3).joined(separator: ", ")) (another optimizer or model?)")
            }
            optimizerStep = state.optimizerStep
        }
        for u in uploads { try model.device.upload(u.bits, to: u.to) }
        optimizer?.t = optimizerStep
    }
}
