import Foundation
import Recur
import Testing

/// Every command's flags are checked when parsed: a value out of its range (not finite, not
/// positive, past a bound, not one of the names) ends `recur` with one line naming the flag and
/// the value before any work, never later (e.g. when the first checkpoint is written).
@Suite struct FlagValidationTests {
    typealias Case = BadInputTests.Case
    static func p(_ name: String) -> String { BadInputTests.p(name) }
    static let memory = ["train", "--task", "memory", "--steps", "1"]

    static let cases: [Case] = [
        // flags the run would not use are refused, not ignored
        Case(name: "train --conv-widths for a recurrent model", args: ["train", "--task", "charlm", "--data", p("short.txt"), "--steps", "1", "--conv-widths", "3"],
             expect: "--filters and --conv-widths are for --encoder cnn"),
        Case(name: "train --fill for charlm", args: ["train", "--task", "charlm", "--data", p("short.txt"), "--steps", "1", "--fill", "linear"],
             expect: "--fill is for --task forecast, not charlm"),
        Case(name: "train --min-distance for charlm", args: ["train", "--task", "charlm", "--data", p("short.txt"), "--steps", "1", "--min-distance", "3"],
             expect: "--min-distance is for --task memory, not charlm"),
        Case(name: "train --test for charlm", args: ["train", "--task", "charlm", "--data", p("short.txt"), "--steps", "1", "--test", p("short.txt")],
             expect: "--test is for --task classify, not charlm"),
        Case(name: "train --data for memory", args: memory + ["--data", p("short.txt")], expect: "--data: --task memory makes its own data"),
        Case(name: "train --momentum with adam", args: memory + ["--momentum", "0.5"], expect: "--momentum and --nesterov are for --optimizer sgd"),
        Case(name: "train --gamma without the step schedule", args: memory + ["--gamma", "0.5"], expect: "--step-size and --gamma are for --schedule step"),
        Case(name: "train --forget-bias for a GRU", args: memory + ["--cell", "gru", "--forget-bias", "1"], expect: "--forget-bias is for --cell lstm, not gru"),
        Case(name: "train --layers 257", args: memory + ["--layers", "257"], expect: "--layers must be in 1...256, got 257"),
        Case(name: "train --gamma inf", args: memory + ["--schedule", "step", "--gamma", "inf"], expect: "--gamma must be a positive finite number, got inf"),
        Case(name: "train --gamma 0", args: memory + ["--gamma", "0"], expect: "--gamma must be a positive finite number, got 0.0"),
        Case(name: "train --momentum nan", args: memory + ["--momentum", "nan"], expect: "--momentum must be in [0, 1), got nan"),
        Case(name: "train --weight-decay -1", args: memory + ["--weight-decay=-1"], expect: "--weight-decay must be ≥ 0, got -1.0"),
        Case(name: "train --clip inf", args: memory + ["--clip", "inf"], expect: "--clip must be a finite number ≥ 0 (0: no clipping), got inf"),
        Case(name: "train --dropout 1", args: memory + ["--dropout", "1"], expect: "--dropout must be in [0, 1), got 1.0"),
        Case(name: "train --forget-bias -inf", args: memory + ["--forget-bias=-inf"], expect: "--forget-bias must be a finite number, got -inf"),
        Case(name: "train --lr inf", args: memory + ["--lr", "inf"], expect: "--lr must be a positive finite number, got inf"),
        Case(name: "train --warmup -1", args: memory + ["--warmup=-1"], expect: "--warmup must be ≥ 0, got -1"),
        Case(name: "train --step-size 0", args: memory + ["--step-size", "0"], expect: "--step-size must be positive, got 0"),
        Case(name: "train --eval-every 0", args: memory + ["--eval-every", "0"], expect: "--eval-every must be positive, got 0"),
        Case(name: "train --log-every -5", args: memory + ["--log-every=-5"], expect: "--log-every must be positive, got -5"),
        Case(name: "train --patience 0", args: memory + ["--patience", "0"], expect: "--patience must be positive, got 0"),
        Case(name: "train --stop-after 0", args: memory + ["--stop-after", "0"], expect: "--stop-after must be positive, got 0"),
        Case(name: "train --epochs 0", args: ["train", "--task", "classify", "--data", p("train.tsv"), "--epochs", "0"], expect: "--epochs must be positive, got 0"),
        Case(name: "train --epochs for another task", args: ["train", "--task", "memory", "--epochs", "2"], expect: "--epochs is for --task classify"),
        Case(name: "train without --steps", args: ["train", "--task", "memory"], expect: "give --steps N"),
        Case(name: "train --hidden -1 (a negative value as its own word)", args: memory + ["--hidden", "-1"], expect: "--hidden must be positive, got -1"),
        Case(name: "train --lr -0.5 (a negative value as its own word)", args: memory + ["--lr", "-0.5"], expect: "--lr must be a positive finite number, got -0.5"),
        Case(name: "train --out a dangling link", args: memory + ["--out", p("dangling")], expect: "--out \(p("dangling")): is a symbolic link to \(p("nowhere")), which does not exist"),
        Case(name: "demo --out a dangling link", args: ["demo", "--out", p("dangling")], expect: "--out \(p("dangling")): is a symbolic link to \(p("nowhere")), which does not exist"),
        Case(name: "eval on a folder without a checkpoint", args: ["eval", "--checkpoint", p("folder")],
             expect: "--checkpoint \(p("folder")): no checkpoint in this folder"),
        Case(name: "train --layers 0", args: memory + ["--layers", "0"], expect: "--layers must be positive, got 0"),
        Case(name: "train --embedding 0", args: memory + ["--embedding", "0"], expect: "--embedding must be positive, got 0"),
        Case(name: "train --filters 0", args: memory + ["--filters", "0"], expect: "--filters must be positive, got 0"),
        Case(name: "train --seq 0", args: memory + ["--seq", "0"], expect: "--seq must be positive, got 0"),
        Case(name: "train --season 0", args: memory + ["--season", "0"], expect: "--season must be positive, got 0"),
        Case(name: "train --fill mean", args: memory + ["--fill", "mean"], expect: "--fill must be previous, linear or zero, got 'mean'"),
        Case(name: "train --min-distance -1", args: memory + ["--min-distance=-1"], expect: "--min-distance must be in 0...2147483637, got -1"),
        Case(name: "train --max-distance below --min-distance", args: memory + ["--min-distance", "5", "--max-distance", "3"],
             expect: "--max-distance must be in 5...2147483637, got 3"),
        Case(name: "train --conv-widths with a word", args: memory + ["--conv-widths", "3,x"], expect: "--conv-widths must be comma-separated positive integers, got '3,x'"),
        Case(name: "train --conv-widths 0", args: memory + ["--conv-widths", "0"], expect: "--conv-widths must be comma-separated positive integers"),
        Case(name: "train --encoder cnn for memory", args: memory + ["--encoder", "cnn"], expect: "--encoder cnn is for --task classify"),
        Case(name: "train --encoder unknown", args: memory + ["--encoder", "transformer"], expect: "--encoder must be recurrent or cnn"),
        Case(name: "train --embedding-fold unknown", args: memory + ["--embedding-fold", "sometimes"], expect: "--embedding-fold must be auto, always or never"),
        Case(name: "train --optimizer unknown", args: memory + ["--optimizer", "lion"], expect: "--optimizer must be sgd, adam or adamw, got 'lion'"),
        Case(name: "train --schedule unknown", args: memory + ["--schedule", "linear"], expect: "--schedule must be constant, step or cosine, got 'linear'"),
        Case(name: "train --threads 0", args: memory + ["--threads", "0"], expect: "--threads must be in 1...1024, got 0"),
        Case(name: "train --threads past the bound", args: memory + ["--threads", "1000000"], expect: "--threads must be in 1...1024, got 1000000"),
        Case(name: "train --batch not a number", args: memory + ["--batch", "many"], expect: "The value 'many' is invalid for '--batch <batch>'"),
        Case(name: "generate --length -1", args: ["generate", "--checkpoint", p("notsafetensors"), "--length=-1"], expect: "--length must be in 0...4294967296, got -1"),
        Case(name: "generate --top-k -1", args: ["generate", "--checkpoint", p("notsafetensors"), "--top-k=-1"], expect: "--top-k must be ≥ 0, got -1"),
        Case(name: "generate --temperature inf", args: ["generate", "--checkpoint", p("notsafetensors"), "--temperature", "inf"], expect: "--temperature must be a positive number, got inf"),
        Case(name: "eval --threads past the bound", args: ["eval", "--checkpoint", p("notsafetensors"), "--threads", "4096"], expect: "--threads must be in 1...1024"),
        Case(name: "bench --repeats 0", args: ["bench", "--repeats", "0"], expect: "--repeats must be at least 1, got 0"),
        Case(name: "bench --rounds 0", args: ["bench", "--rounds", "0"], expect: "--rounds must be at least 1, got 0"),
        Case(name: "bench --shape without K", args: ["bench", "--shape", "64x64"], expect: "--shape '64x64': expected MxNxK with positive sizes"),
        Case(name: "bench --shape with an empty size", args: ["bench", "--shape", "64xx64"], expect: "--shape '64xx64': expected MxNxK with positive sizes"),
        Case(name: "bench --workload unknown", args: ["bench", "--suite", "train", "--workload", "lstm-small", "--workload", "nope"],
             expect: "--workload: none of [\"nope\"] is a workload"),
        Case(name: "bench --json into a missing folder", args: ["bench", "--json", p("missing/rows.json")], expect: "the folder \(p("missing")) does not exist"),
        Case(name: "bench --plot onto a folder", args: ["bench", "--plot", p("folder")], expect: "--plot \(p("folder")): is a folder, not a file"),
        Case(name: "verify --cases -1", args: ["verify", "--cases=-1"], expect: "--cases must be in 0...100000, got -1"),
        Case(name: "demo --max-distance 0", args: ["demo", "--max-distance", "0"], expect: "--max-distance must be in 1...2147483637, got 0"),
        Case(name: "demo --hidden 0", args: ["demo", "--hidden", "0"], expect: "--hidden must be positive, got 0"),
        Case(name: "demo --hidden too large", args: ["demo", "--hidden", "99999999"], expect: "the model is too large: a recurrent weight"),
        Case(name: "demo --out is a file", args: ["demo", "--out", p("afile")], expect: "--out \(p("afile")): is a file, not a folder"),
        Case(name: "tune --repeats 0", args: ["tune", "--repeats", "0"], expect: "--repeats must be at least 1, got 0"),
        Case(name: "tune --device cpu", args: ["tune", "--device", "cpu"], expect: "--device cpu: tuning is for OpenCL devices"),
        Case(name: "tune --only out of range", args: ["tune", "--only", "matmul=rb,RB_M=0"], expect: "--only: tuning 'matmul=rb,RB_M=0': RB_M must be 1...16, got 0"),
        Case(name: "tune --json into a missing folder", args: ["tune", "--json", p("missing/trials.json")], expect: "the folder \(p("missing")) does not exist"),
    ]

    @Test(arguments: cases)
    func rejected(_ c: Case) throws { try BadInputTests.expectRejected(c) }
}
