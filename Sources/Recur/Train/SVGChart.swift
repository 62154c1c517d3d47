import Foundation

/// A small line chart written as standalone SVG: titled axes, ticks, a legend, one polyline per series.
public struct SVGChart {
    /// One line of the chart.
    public struct Series { public var name: String; public var points: [(Double, Double)]; public var color: String
        /// A named line of (x, y) points in a CSS colour.
        public init(_ name: String, _ points: [(Double, Double)], color: String) { self.name = name; self.points = points; self.color = color } }

    /// Title and axis labels.
    public var title: String, xLabel: String, yLabel: String
    /// The lines.
    public var series: [Series]
    /// Optional horizontal reference line (e.g. chance or a baseline).
    public var reference: (value: Double, label: String)? = nil
    /// The y axis range (default: the data's, with nice ticks).
    public var yRange: ClosedRange<Double>? = nil

    /// A chart of `series`.
    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    /// The SVG text.
    public func render(width: Double = 720, height: Double = 420) -> String {
        let (l, r, t, b) = (70.0, 170.0, 40.0, 50.0)
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        let xs = all.map(\.0), ys = all.map(\.1) + (reference.map { [$0.value] } ?? [])
        let x0 = xs.min() ?? 0, x1 = max((xs.max() ?? 1), x0 + 1e-9)
        var y0 = yRange?.lowerBound ?? (ys.min() ?? 0), y1 = yRange?.upperBound ?? (ys.max() ?? 1)
        if y1 - y0 < 1e-9 { y1 = y0 + 1 }
        if yRange == nil { let pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad }
        func px(_ x: Double) -> Double { l + (x - x0) / (x1 - x0) * (width - l - r) }
        func py(_ y: Double) -> Double { height - b - (y - y0) / (y1 - y0) * (height - t - b) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func label(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e7 ? String(format: "%.0f", v) : String(format: "%.3g", v)
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(width / 2 - r / 2 + l / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        for yv in Self.ticks(y0, y1) {
            s += "<line x1=\"\(f(l))\" x2=\"\(f(width - r))\" y1=\"\(f(py(yv)))\" y2=\"\(f(py(yv)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(l - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(label(yv))</text>\n"
        }
        for xv in Self.ticks(x0, x1) {
            s += "<text x=\"\(f(px(xv)))\" y=\"\(f(height - b + 16))\" text-anchor=\"middle\">\(label(xv))</text>\n"
        }
        s += "<line x1=\"\(f(l))\" x2=\"\(f(l))\" y1=\"\(f(t))\" y2=\"\(f(height - b))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(l))\" x2=\"\(f(width - r))\" y1=\"\(f(height - b))\" y2=\"\(f(height - b))\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f((l + width - r) / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18 \(f((t + height - b) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        if let (v, name) = reference {
            s += "<line x1=\"\(f(l))\" x2=\"\(f(width - r))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>\n"
            s += "<text x=\"\(f(width - r + 6))\" y=\"\(f(py(v) + 4))\" fill=\"#777\">\(escape(name))</text>\n"
        }
        for (i, se) in series.enumerated() {
            let pts = se.points.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(se.color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
            if se.points.count <= 40 {
                for p in se.points where p.0.isFinite && p.1.isFinite { s += "<circle cx=\"\(f(px(p.0)))\" cy=\"\(f(py(p.1)))\" r=\"3\" fill=\"\(se.color)\"/>\n" }
            }
            let ly = t + 10 + Double(i) * 20
            s += "<line x1=\"\(f(width - r + 10))\" x2=\"\(f(width - r + 34))\" y1=\"\(f(ly))\" y2=\"\(f(ly))\" stroke=\"\(se.color)\" stroke-width=\"3\"/>\n"
            s += "<text x=\"\(f(width - r + 40))\" y=\"\(f(ly + 4))\">\(escape(se.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// About five round tick values (steps of 1, 2 or 5 × 10^k) inside [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var v = ceil(lo / step) * step, out: [Double] = []
        while v <= hi + step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Writes the chart as `UserFile.write` does: through a link, atomically, never onto a FIFO or device.
    public func write(to url: URL) throws { try UserFile.write(render(), to: url.path) }
}
