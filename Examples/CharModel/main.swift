import Recur

// Train a small character model on a text file, on the best device (or $RECUR_DEVICE), then sample.
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "../shared/data/tinyshakespeare.txt"
let (device, note) = try Devices.preferred()
print(note)
let task = try CharLMTask(path: path, seed: 42)
let config = try ModelConfig(.nextToken, batch: 16, sequence: 32) {
    Layer.embedding(vocab: task.vocabulary.count, dim: 32)
    Layer.lstm(hidden: 64)
    Layer.linear(outputs: task.vocabulary.count)
}
let model = try Model(config, device: device, seed: 42)
let trainer = try Trainer(model: model, task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 150))
for try await event in trainer.events(out: nil) {
    if case let .evaluation(step, e) = event { print("step \(step): validation loss \(e.loss)") }
}
print("\(trainer.summary!.bitsPerCharacter!) bits per character")
print(try model.generate(vocabulary: task.vocabulary, prompt: "ROMEO:", length: 80, seed: 7))
