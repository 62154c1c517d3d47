import Foundation
import Recur

/// Progress for people (a bar on a terminal, plain lines otherwise), metrics as JSON lines, and the
/// SVG loss curve at the end. With --json, progress goes to stderr so stdout ends with the summary.
///
/// A line that cannot be written to standard output or metrics.jsonl is never skipped silently: the
/// first such failure is kept in `failure` and asks the trainer to stop as on SIGINT (the step in
/// progress finishes and is checkpointed), and the command then exits 1 with it.
final class Report {
    let json: Bool, out: URL?, units: String, total: Int
    let terminal = isatty(STDERR_FILENO) == 1
    var trainCurve: [(Double, Double)] = [], valCurve: [(Double, Double)] = []
    let started = Date()
    var firstStep: Int? = nil
    /// The first write that failed, as one line naming the stream or file.
    private(set) var failure: String? = nil

    init(json: Bool, out: URL?, units: String, total: Int) {
        self.json = json; self.out = out; self.units = units; self.total = total
        if let out { loadHistory(out) }
    }

    func say(_ s: String) {
        if json || terminal { Output.error(s + "\n"); return }
        do { try Output.line(s) } catch { fail("\(error)") }
    }

    func fail(_ message: String) {
        if failure == nil { failure = message }
        Trainer.stopRequested = true
    }

    func handle(_ e: TrainEvent) {
        switch e {
        case let .step(step, loss, rate, lr):
            trainCurve.append((Double(step), Double(loss)))
            append(["step": step, "loss": Double(loss), "lr": Double(lr), "\(units)PerSecond": rate.rounded()])
            let done = step - (firstStep ?? step)
            if firstStep == nil { firstStep = step }
            let elapsed = Date().timeIntervalSince(started)
            let eta = done > 0 ? elapsed / Double(done) * Double(total - step) : 0
            let line = String(format: "step %ld/%ld  loss %.4f  %.0f %@/s  lr %.2e  ETA %@", step, total, loss, rate, units, lr, Self.clock(eta))
            if terminal && !json {
                let width = 24, filled = Int(Double(width) * Double(step) / Double(max(1, total)))
                Output.error("\r[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] " + line + "   ")
            } else {
                say(line)
            }
        case let .evaluation(step, ev):
            valCurve.append((Double(step), Double(ev.objective)))
            var fields: [String: Any] = ["step": step, "valLoss": Double(ev.loss)]
            var text = String(format: "eval step %ld: val loss %.4f", step, ev.loss)
            if let a = ev.accuracy { fields["valAccuracy"] = Double(a); text += String(format: ", accuracy %.1f%%", a * 100) }
            if let b = ev.bitsPerCharacter { fields["bitsPerCharacter"] = Double(b); text += String(format: ", %.3f bits/char", b) }
            if let m = ev.mse { fields["valMSE"] = Double(m); text += String(format: ", MSE %.4g", m) }
            if let m = ev.baselineMSE { fields["baselineMSE"] = Double(m); text += String(format: " (baseline %.4g: %@)", m, ev.baselineName ?? "") }
            append(fields)
            if terminal && !json { Output.error("\n") }
            say(text)
            if let rows = ev.byDistance {
                say("  accuracy by distance: " + rows.map { "\($0.distance): \(String(format: "%.0f%%", $0.accuracy * 100))" }.joined(separator: "  "))
            }
        case let .checkpoint(step, url):
            append(["step": step, "checkpoint": url.lastPathComponent])
        }
    }

    /// Readies the folder's metrics.jsonl for a run. A new run starts a new file: one left by an
    /// earlier run that saved no checkpoint is kept as metrics.jsonl.N. A resumed run continues the
    /// file from its checkpoint's step: lines logged after it (by a run killed before its next save)
    /// are dropped, so no step appears twice.
    static func prepareHistory(_ out: URL, resumedAt step: Int?) throws {
        let fm = FileManager.default, path = out.appendingPathComponent("metrics.jsonl").path
        guard fm.fileExists(atPath: path) else { return }
        guard let step else {
            var n = 1
            while fm.fileExists(atPath: "\(path).\(n)") { n += 1 }
            do { try fm.moveItem(atPath: path, toPath: "\(path).\(n)") } catch {
                throw Failure("\(shownPath(path)): cannot set an earlier run's metrics aside (\(systemReason(error)))")
            }
            Console.note("kept the earlier metrics.jsonl as metrics.jsonl.\(n)")
            return
        }
        // a FIFO is never opened (the appends would wait for a reader), nor read; other non-regular files are not read
        if let why = UserFile.notRegular(path) {
            var st = stat()
            guard stat(path, &st) == 0, [S_IFIFO, S_IFSOCK, S_IFDIR].contains(st.st_mode & S_IFMT) else { return }   // a device: appended to, not read
            throw Failure("\(shownPath(path)): \(why); move it away to resume here")
        }
        guard let text = fm.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else { throw Failure("\(shownPath(path)): cannot read") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let before = lines.count
        lines.removeAll { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["step"] as? Double else { return false }
            return s > Double(step)
        }
        guard lines.count < before else { return }
        do { try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw Failure("\(shownPath(path)): cannot drop the lines after step \(step) (\(systemReason(error)))")
        }
    }

    /// One JSON line at the end of metrics.jsonl. A failed write leaves the file as it was (a
    /// partial line is cut off again) and is recorded with `fail`.
    func append(_ fields: [String: Any]) {
        guard let out, failure == nil else { return }
        let path = out.appendingPathComponent("metrics.jsonl").path
        do {
            let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) + Data("\n".utf8)
            try Self.append(data, to: path)
        } catch {
            fail("\(shownPath(path)): cannot append (\(error))")
        }
    }

    static func append(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        let size = fstat(fd, &st) == 0 ? st.st_size : -1
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let reason = n < 0 ? String(cString: strerror(errno)) : "nothing written"
                if size >= 0 { _ = ftruncate(fd, size) }
                throw Failure(reason)
            }
            done += n
        }
    }

    /// A resumed run draws its whole history.
    func loadHistory(_ out: URL) {
        guard let text = try? String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = o["step"] as? Double else { continue }
            if let l = o["loss"] as? Double { trainCurve.append((step, l)) }
            if let v = (o["valMSE"] ?? o["valLoss"]) as? Double { valCurve.append((step, v)) }
        }
    }

    /// The last line and loss.svg; throws when loss.svg cannot be written.
    func finish(_ s: TrainSummary) throws {
        if terminal && !json { Output.error("\n") }
        say(String(format: "done: %ld steps in %@, %.0f %@/s; train loss %.4f, val loss %@", s.steps, Self.clock(s.seconds), s.tokensPerSecond, units, s.trainLoss,
                   s.evaluation == nil ? "- (not evaluated)" : String(format: "%.4f", s.valLoss))
            + (s.checkpoint.map { "; checkpoint \($0)" } ?? ""))
        if let failure { throw Failure(failure + (s.checkpoint.map { "; the run is complete, checkpoint \($0)" } ?? "")) }
        guard let out else { return }
        var chart = SVGChart(title: "Training loss", xLabel: "step", yLabel: s.valMSE != nil ? "loss (val: MSE)" : "loss",
                             series: [.init("train", trainCurve, color: "#1f77b4"), .init("validation", valCurve, color: "#d62728")])
        if let b = s.baselineMSE { chart.reference = (Double(b), "baseline") }
        let svg = out.appendingPathComponent("loss.svg")
        do { try chart.write(to: svg) } catch {
            throw Failure("\(shownPath(svg.path)): cannot write the loss curve (\(error))")
        }
    }

    /// h:mm:ss or m:ss; an estimate beyond 10,000 hours (or not finite: --steps near 2^63) is "-".
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 36e6 else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
