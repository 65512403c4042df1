import Foundation

/// A line plot written as SVG: axes with tick labels and units, a title, a legend.
/// Value type; `svg()` renders it. Colors cycle through a palette readable on white
/// and for the common color-vision deficiencies (Okabe–Ito without its yellow, which is
/// too faint on white); past seven series the colors repeat dotted. A series drawn on top
/// of an earlier one (indistinguishable at the plot's scale) is dotted with markers, and a
/// note in the legend says which two coincide, so no curve hides under another.
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
        /// A dot at each point: for a handful of measured points joined by a line (times after
        /// programming), so the reader sees where the measurements are.
        public var markers = false

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
    /// Logarithmic x axis (points with x ≤ 0 are left out).
    public var logX = false
    /// |y| at or below this is round-off (an angle of 1e-14°): drawn as 0, and said so.
    public var numericalZero: Double? = nil
    public var width = 720.0
    public var height = 400.0

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]

    /// Two series coincide when no point differs by more than this share of the y axis.
    static let coincidence = 2e-3

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

    /// The series as drawn: x ≤ 0 dropped on a log x axis, round-off set to 0.
    func drawnSeries() -> [Series] {
        series.map { line in
            var l = line
            if let zero = numericalZero { l.y = l.y.map { abs($0) <= zero ? 0 : $0 } }
            if logX {
                let keep = l.x.indices.filter { l.x[$0] > 0 }
                l.x = keep.map { l.x[$0] }
                l.y = keep.map { l.y[$0] }
                l.errors = l.errors.map { e in keep.map { $0 < e.count ? e[$0] : 0 } }
            }
            return l
        }
    }

    /// `text` in lines of at most about `width` characters, broken at spaces.
    static func wrap(_ text: String, width: Int) -> [String] {
        var out: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width { out.append(line); line = "  " + word } else { line += (line.isEmpty ? "" : " ") + word }
        }
        return out + [line]
    }

    /// For each series, the label of an earlier one it lies on at this plot's scale (nil: none).
    static func coinciding(_ lines: [Series], transform: (Double) -> Double, span: Double) -> [String?] {
        lines.indices.map { k in
            guard !lines[k].x.isEmpty else { return nil }
            for j in 0..<k where lines[j].x == lines[k].x && lines[j].dashed == lines[k].dashed {
                let close = zip(lines[j].y, lines[k].y).allSatisfy { a, b in
                    (a.isNaN && b.isNaN) || abs(transform(a) - transform(b)) <= coincidence * span
                }
                if close { return lines[j].label }
            }
            return nil
        }
    }

    public func svg() -> String {
        let xAxis = Axis(log: logX, floor: .leastNormalMagnitude), yAxis = Axis(log: logY, floor: logFloor)
        let lines = drawnSeries()
        let yRange = { () -> Double in
            let v = lines.flatMap(\.y).filter(\.isFinite).map(yAxis.value)
            return max((v.max() ?? 1) - (v.min() ?? 0), 1e-300)
        }()
        let onTop = Self.coinciding(lines, transform: yAxis.value, span: yRange)
        var allNotes = notes
        // One note per lower curve, naming every curve on it, wrapped to the legend's width.
        var onEach: [(String, [String])] = []
        for (k, below) in onTop.enumerated() where lines[k].showInLegend {
            guard let below else { continue }
            if let i = onEach.firstIndex(where: { $0.0 == below }) { onEach[i].1.append(lines[k].label) } else { onEach.append((below, [lines[k].label])) }
        }
        for (below, above) in onEach {
            allNotes += Self.wrap(above.joined(separator: ", ") + (above.count == 1 ? " lies on " : " lie on ") + below, width: 34)
        }
        if let zero = numericalZero, series.contains(where: { $0.y.contains { $0 != 0 && abs($0) <= zero } }) {
            allNotes.append("|y| ≤ \(Self.label(zero)): round-off, as 0")
        }
        // The legend column is as wide as its longest entry (about 6.6 px per character at 12 px).
        let longest = (lines.filter(\.showInLegend).map { $0.label.count + 6 } + allNotes.map(\.count)).max() ?? 0
        let left = 72.0, right = min(max(170, Double(longest) * 6.6 + 20), width * 0.45), top = 40.0, bottom = 52.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = lines.flatMap(\.x).filter(\.isFinite).map(xAxis.value)
        // The y range holds the error bars too.
        let ys = lines.flatMap { line in
            line.y.indices.flatMap { k -> [Double] in
                let e = line.errors.map { k < $0.count && $0[k].isFinite ? $0[k] : 0 } ?? 0
                return [line.y[k] - e, line.y[k] + e]
            }
        }.filter(\.isFinite).map(yAxis.value)
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if x1 <= x0 { x1 = x0 + 1 }
        // Error bars at the ends stay inside the frame.
        if lines.contains(where: { $0.errors != nil }) {
            let pad = (x1 - x0) * 0.04
            x0 -= pad; x1 += pad
        }
        // A flat line: a unit either side of 0 (a plot of exact zeros), else 10 % of its value.
        if y1 <= y0 { let pad = y0 == 0 ? 1 : abs(y0) * 0.1; y0 -= pad; y1 += pad }
        let yPad = (y1 - y0) * 0.05
        y0 -= yPad; y1 += yPad
        func px(_ x: Double) -> Double { left + (xAxis.value(x) - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (yAxis.value(y) - y0) / (y1 - y0)) * plotH }
        // Ticks in axis coordinates with their labels.
        let xTicks = logX ? Self.logTicks(x0, x1) : Self.ticks(x0, x1).map { ($0, Self.label($0)) }
        let yTicks = logY ? Self.logTicks(y0, y1) : Self.ticks(y0, y1).map { ($0, Self.label($0)) }
        var s = Self.svgOpening(width: width, height: height, title: title)
        s += "<text x=\"\(left)\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        for (t, text) in xTicks {
            let x = left + (t - x0) / (x1 - x0) * plotW
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + plotH)\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(x)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\" fill=\"#333\">\(text)</text>\n"
        }
        for (t, text) in yTicks {
            let y = top + (1 - (t - y0) / (y1 - y0)) * plotH
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" fill=\"#333\">\(text)</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        func dash(_ k: Int) -> String {
            if onTop[k] != nil { return " stroke-dasharray=\"2 4\"" }
            if lines[k].dashed { return " stroke-dasharray=\"6 4\"" }
            return lines[k].color >= Self.palette.count ? " stroke-dasharray=\"1 3\"" : ""
        }
        // Lines, clipped to the plot area.
        s += "<clipPath id=\"area\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\"/></clipPath>\n<g clip-path=\"url(#area)\">\n"
        for (k, line) in lines.enumerated() {
            let color = Self.color(line.color)
            let finite = zip(line.x, line.y).filter { $0.0.isFinite && $0.1.isFinite }
            let points = finite.map { String(format: "%.2f,%.2f", px($0.0), py($0.1)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(onTop[k] == nil ? 1.6 : 2.2)\"\(dash(k)) points=\"\(points)\"/>\n"
            if onTop[k] != nil {
                // Hollow markers at a few points, so the lower curve shows through.
                let step = max(1, finite.count / 12)
                for (x, y) in finite.enumerated().filter({ $0.offset % step == 0 }).map(\.element) {
                    s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"none\" stroke=\"%@\" stroke-width=\"1.4\"/>\n", px(x), py(y), color)
                }
            }
            if line.markers && line.errors == nil {
                for (x, y) in finite {
                    s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", px(x), py(y), color)
                }
            }
            if let errors = line.errors {
                for (k, (x, y)) in zip(line.x, line.y).enumerated() where x.isFinite && y.isFinite {
                    let e = k < errors.count && errors[k].isFinite ? errors[k] : 0
                    let cx = px(x), lo = py(y - e), hi = py(y + e)
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\" stroke-width=\"1.2\"/>", cx, lo, cx, hi, color)
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\"/>", cx - 4, lo, cx + 4, lo, color)
                    s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\"/>", cx - 4, hi, cx + 4, hi, color)
                    s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", cx, py(y), color)
                }
            }
        }
        s += "</g>\n"
        // Legend.
        var ly = top + 8
        for (k, line) in lines.enumerated() where line.showInLegend {
            let color = Self.color(line.color)
            s += "<line x1=\"\(left + plotW + 12)\" y1=\"\(ly)\" x2=\"\(left + plotW + 36)\" y2=\"\(ly)\" stroke=\"\(color)\" stroke-width=\"2\"\(dash(k))/>"
            s += "<text x=\"\(left + plotW + 42)\" y=\"\(ly + 4)\">\(Self.escape(line.label))</text>\n"
            ly += 18
        }
        for note in allNotes {
            s += "<text x=\"\(left + plotW + 12)\" y=\"\(ly + 4)\" fill=\"#555\">\(Self.escape(note))</text>\n"
            ly += 18
        }
        return s + "</svg>\n"
    }
}
