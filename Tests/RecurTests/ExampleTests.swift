import Foundation
import Testing

/// The README's Swift example is Examples/CharModel/main.swift, verbatim, and it trains and samples
/// with identical results on the CPU and the OpenCL device.
@Suite struct ExampleTests {
    @Test("The README shows the example file verbatim")
    func readmeMatchesExample() throws {
        let readme = try String(contentsOf: Repo.root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: Repo.root.appendingPathComponent("Examples/CharModel/main.swift"), encoding: .utf8)
        let marker = "<!-- example: Examples/CharModel/main.swift -->\n```swift\n"
        let start = try #require(readme.range(of: marker), "README lacks the example marker")
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        #expect(String(readme[start.upperBound..<end.lowerBound]) == example)
    }

    @Test("The example trains and samples identically on both devices")
    func exampleRunsOnBothDevices() throws {
        let binary = RecurProcess.executable.deletingLastPathComponent().appendingPathComponent("CharModelExample")
        let text = Scratch.root.appendingPathComponent("example.txt")
        try String(repeating: "ROMEO: But soft, what light through yonder window breaks? It is the east. ", count: 40)
            .write(to: text, atomically: true, encoding: .utf8)
        var outputs: [[Substring]] = []
        for device in ["cpu", "opencl"] {
            let p = Process(), out = Pipe(), err = Pipe()
            p.executableURL = binary
            p.arguments = [text.path]
            p.environment = ProcessInfo.processInfo.environment.merging(["RECUR_DEVICE": device]) { $1 }
            p.standardOutput = out; p.standardError = err
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            _ = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            #expect(lines.first?.hasPrefix("using \(device)") == true, "\(lines.first ?? "")")
            #expect(lines.contains { $0.hasPrefix("step 150: validation loss") })
            #expect(lines.contains { $0.hasSuffix("bits per character") })
            #expect(lines.contains { $0.hasPrefix("ROMEO:") })
            outputs.append(Array(lines.dropFirst()))
        }
        #expect(outputs.count == 2 && outputs[0] == outputs[1], "CPU and OpenCL differ: \(outputs)")
    }
}
