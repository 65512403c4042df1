import Foundation

/// A line plot written as SVG: axes with tick labels and units, a title, a legend.
/// Value type; `svg()` renders it. Colors cycle through a palette readable on white
/// and for the common color-vision deficiencies (Okabe–Ito).
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        public var color: Int
        public var dashed: Bool
        public var showInLegend: Bool
        /// Half-heights of error bars at each point (± around y), drawn with markers; nil: a plain line.
        public var errors: [Double]? = nil

        public init(label: String, x: [Double], y: [Double], color: Int, dashed: Bool = false, showInLegend: Bool = true) {
            self.label = label
            self.x = x
            self.y = y
            self.color = color
            self.dashed = dashed
            self.showInLegend = showInLegend
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    /// Extra legend lines that explain line styles (e.g. "solid: circuit").
    public var notes: [String] = []
    /// Logarithmic y axis; values ≤ `logFloor` are drawn at the floor.
    public var logY = false
    public var logFloor = 1e-9
    public var width = 720.0
    public var height = 400.0

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

    /// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 × 10^k.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var t = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 { return String(format: "%.1e", v) }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    /// Palette color `index`, cycling.
    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// The opening of an SVG document every plot here starts with: size, font, the title
    /// as its accessible name, a white background.
    static func svgOpening(width: Double, height: Double, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
            + "<title>\(escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public func svg() -> String {
        let left = 72.0, right = 170.0, top = 40.0, bottom = 52.0
        let plotW = width - left - right, plotH = height - top - bottom
        let floor = logFloor
        func transform(_ y: Double) -> Double { logY ? log10(max(y, floor)) : y }
        let xs = series.flatMap(\.x).filter(\.isFinite)
        // The y range holds the error bars too.
        let ys = series.flatMap { line in
            line.y.indices.flatMap { k -> [Double] in
                let e = line.errors.map { k < $0.count && $0[k].isFinite ? $0[k] : 0 } ?? 0
                return [line.y[k] - e, line.y[k] + e]
            }
        }.filter(\.isFinite).map(transform)
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if x1 <= x0 { x1 = x0 + 1 }
        // Error bars at the ends stay inside the frame.
        if series.contains(where: { $0.errors != nil }) {
            let pad = (x1 - x0) * 0.04
            x0 -= pad; x1 += pad
        }
        if y1 <= y0 { let pad = max(abs(y0) * 0.1, 1e-12); y0 -= pad; y1 += pad }
        let yPad = (y1 - y0) * 0.05
        y0 -= yPad; y1 += yPad
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        var s = Self.svgOpening(width: width, height: height, title: title)
        s += "<text x=\"\(left)\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        // Grid and ticks.
        for t in Self.ticks(x0, x1) {
            let x = px(t)
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + plotH)\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(x)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\" fill=\"#333\">\(Self.label(t))</text>\n"
        }
        let yTicks = logY ? (Int(y0.rounded(.up))...max(Int(y0.rounded(.up)), Int(y1.rounded(.down)))).map(Double.init) : Self.ticks(y0, y1)
        for t in yTicks {
            let y = py(t)
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#e4e4e4\"/>"
            let text = logY ? "1e\(Int(t))" : Self.label(t)
            s += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" fill=\"#333\">\(text)</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        // Lines, clipped to the plot area.
        s += "<clipPath id=\"area\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\"/></clipPath>\n<g clip-path=\"url(#area)\">\n"
        for line in series {
            let color = Self.color(line.color)
            let points = zip(line.x, line.y).filter { $0.0.isFinite && $0.1.isFinite }
                .map { String(format: "%.2f,%.2f", px($0.0), py(transform($0.1))) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(points)\"/>\n"
            if let errors = line.errors {
                for (k, (x, y)) in zip(line.x, line.y).enumerated() where x.isFinite && y.isFinite {
                    let e = k < errors.count && errors[k].isFinite ? errors[k] : 0
                    let cx = px(x), lo = py(transform(y - e)), hi = py(transform(y + e))
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\" stroke-width=\"1.2\"/>", cx, lo, cx, hi, color)
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\"/>", cx - 4, lo, cx + 4, lo, color)
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\"/>", cx - 4, hi, cx + 4, hi, color)
                    s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", cx, py(transform(y)), color)
                }
            }
        }
        s += "</g>\n"
        // Legend.
        var ly = top + 8
        for line in series where line.showInLegend {
            let color = Self.color(line.color)
            s += "<line x1=\"\(left + plotW + 12)\" y1=\"\(ly)\" x2=\"\(left + plotW + 36)\" y2=\"\(ly)\" stroke=\"\(color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            s += "<text x=\"\(left + plotW + 42)\" y=\"\(ly + 4)\">\(Self.escape(line.label))</text>\n"
            ly += 18
        }
        for note in notes {
            s += "<text x=\"\(left + plotW + 12)\" y=\"\(ly + 4)\" fill=\"#555\">\(Self.escape(note))</text>\n"
            ly += 18
        }
        return s + "</svg>\n"
    }
}
