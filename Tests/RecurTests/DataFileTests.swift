import Foundation
@testable import Recur
import Testing

/// Line-oriented data files (TSV, CSV) are split at the newline scalar with one trailing carriage
/// return removed, so CRLF files read as LF files do, and messages give file line numbers.
@Suite struct DataFileTests {
    @Test("Lines split at U+000A, lose one trailing U+000D, and keep their file numbers, blank lines included")
    func lines() {
        let lines = DataFile.lines("a\r\n\r\nb\n\rc\r\r\nlast")
        #expect(lines.map(\.number) == [1, 2, 3, 4, 5])
        #expect(lines.map { String($0.text) } == ["a", "", "b", "\rc\r", "last"])
        #expect(DataFile.fields("x,\u{301}y,,z", ",").map(String.init) == ["x", "\u{301}y", "", "z"])
    }

    @Test("A CRLF file trains to the same bytes as its LF version", arguments: ["classify", "forecast"])
    func crlfTrainsAsLF(_ task: String) throws {
        let lines = task == "classify"
            ? (0..<40).map { $0 % 2 == 0 ? "pos\tgood \($0)" : "neg\tbad \($0)" }
            : ["t,value"] + (0..<80).map { "\($0),\(($0 * 5) % 11)" }
        let args = task == "classify" ? ["--task", "classify", "--embedding", "4", "--seq", "8"] : ["--task", "forecast", "--column", "value", "--seq", "4", "--season", "3"]
        var models: [Data] = []
        for ending in ["\n", "\r\n"] {
            let file = Scratch.path("endings") + (task == "classify" ? ".tsv" : ".csv"), out = Scratch.path("endings-run")
            try (lines.joined(separator: ending) + ending).write(toFile: file, atomically: true, encoding: .utf8)
            let r = try RecurProcess.run(["train"] + args + ["--data", file, "--hidden", "8", "--batch", "2", "--steps", "2", "--eval-every", "2",
                                                             "--device", "cpu", "--out", out])
            #expect(r.status == 0, "\(r.stderr)")
            models.append(try Data(contentsOf: URL(fileURLWithPath: out + "/checkpoint/model.safetensors")))
        }
        #expect(models[0] == models[1])
    }
}
