import Recur

// Train a small character model on a text file, on the best device (or $RECUR_DEVICE), then sample.
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "../shared/data/tinyshakespeare.txt"
let (device, note) = try Devices.preferred()
print(note)
let task = try CharLMTask(path: path, seed: 42)
var config = ModelConfig(family: .languageModel)
config.cell = .lstm; config.hidden = 64; config.embedding = 32; config.batch = 16; config.sequence = 32
try task.configure(&config)
let model = try Model(config, device: device, seed: 42)
let trainer = try Trainer(model: model, task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 150))
let summary = try trainer.run(out: nil)
print("validation loss \(summary.valLoss) (\(summary.bitsPerCharacter!) bits per character)")
print(try model.generate(vocabulary: task.data.vocab!, prompt: "ROMEO:", length: 80, seed: 7))
