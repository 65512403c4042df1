import Foundation

/// Horizontal grouped bars on a logarithmic value axis, written as SVG: one group per
/// category (e.g. a training piece), one bar per series inside it (e.g. measured, floor,
/// target), each labelled with its value. A logarithmic axis because the values it was
/// made for span three decades (a 2 s `bp` epoch beside the published code's 1 120 s `dfc`
/// epoch). Value type; `svg()` renders it.
public struct BarChart: Sendable {
    public struct Series: Sendable {
        public var label: String
        /// One value per category, in `categories`' order; a value that is not positive
        /// and finite has no bar (and "n/a" in its place).
        public var values: [Double]
        public var color: Int
        /// Drawn as an outline: for a bound (a floor, a target) rather than a measurement.
        public var outlined: Bool

        public init(label: String, values: [Double], color: Int, outlined: Bool = false) {
            self.label = label
            self.values = values
            self.color = color
            self.outlined = outlined
        }
    }

    public var title: String
    public var valueLabel: String
    public var categories: [String]
    public var series: [Series] = []
    public var notes: [String] = []
    public var width = 900.0
    public var barHeight = 14.0

    public init(title: String, valueLabel: String, categories: [String]) {
        self.title = title
        self.valueLabel = valueLabel
        self.categories = categories
    }

    /// The decades [10^lo, 10^hi] that cover every drawable value (at least one decade).
    func decades() -> (lo: Int, hi: Int) {
        let values = series.flatMap(\.values).filter { $0 > 0 && $0.isFinite }
        guard let smallest = values.min(), let largest = values.max() else { return (0, 1) }
        let lo = Int(log10(smallest).rounded(.down)), hi = Int(log10(largest).rounded(.up))
        return (lo, max(hi, lo + 1))
    }

    /// 10^d written out up to a million (1, 10, …, 1000000), as 1e7 and 1e-1 beyond.
    static func decadeText(_ d: Int) -> String {
        (0...6).contains(d) ? String(format: "%.0f", pow(10, Double(d))) : "1e\(d)"
    }

    static func valueText(_ v: Double) -> String {
        guard v > 0, v.isFinite else { return "n/a" }
        return v >= 100 ? String(format: "%.0f", v) : v >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
    }

    public func svg() -> String {
        let left = 130.0, right = 200.0, top = 40.0, bottom = 46.0, groupGap = 12.0
        let plotW = width - left - right
        let groupH = Double(max(series.count, 1)) * barHeight + groupGap
        let plotH = Double(max(categories.count, 1)) * groupH
        let height = top + plotH + bottom + Double(notes.count) * 16
        let (lo, hi) = decades()
        func px(_ v: Double) -> Double { left + (log10(v) - Double(lo)) / Double(hi - lo) * plotW }
        let escape = LinePlot.escape
        var s = LinePlot.svgOpening(width: width, height: height, title: title)
        s += "<text x=\"16\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        for d in lo...hi {
            let x = px(pow(10, Double(d)))
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + plotH)\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(x)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\" fill=\"#333\">\(Self.decadeText(d))</text>\n"
        }
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(top + plotH + 36)\" text-anchor=\"middle\">\(escape(valueLabel))</text>\n"
        for (c, category) in categories.enumerated() {
            let gy = top + Double(c) * groupH + groupGap / 2
            s += "<text x=\"\(left - 8)\" y=\"\(gy + Double(series.count) * barHeight / 2 + 4)\" text-anchor=\"end\" font-weight=\"bold\">\(escape(category))</text>\n"
            for (k, line) in series.enumerated() {
                let y = gy + Double(k) * barHeight
                let v = c < line.values.count ? line.values[c] : .nan
                let color = LinePlot.color(line.color)
                guard v > 0, v.isFinite else {
                    s += "<text x=\"\(left + 4)\" y=\"\(y + barHeight - 3)\" fill=\"#777\">n/a</text>\n"
                    continue
                }
                // A value below the axis' first decade cannot occur (decades() covers all).
                let w = max(px(v) - left, 1)
                let fill = line.outlined ? "none" : color
                s += "<rect x=\"\(left)\" y=\"\(y + 1)\" width=\"\(String(format: "%.2f", w))\" height=\"\(barHeight - 2)\" fill=\"\(fill)\" stroke=\"\(color)\" stroke-width=\"1.5\"><title>\(escape(line.label)): \(Self.valueText(v))</title></rect>"
                s += "<text x=\"\(left + w + 4)\" y=\"\(y + barHeight - 3)\" font-size=\"11\" fill=\"#333\">\(Self.valueText(v))</text>\n"
            }
        }
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>\n"
        var ly = top + 8
        for line in series {
            let color = LinePlot.color(line.color)
            s += "<rect x=\"\(left + plotW + 40)\" y=\"\(ly - 6)\" width=\"18\" height=\"11\" fill=\"\(line.outlined ? "none" : color)\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
            s += "<text x=\"\(left + plotW + 64)\" y=\"\(ly + 4)\">\(escape(line.label))</text>\n"
            ly += 18
        }
        for (k, note) in notes.enumerated() {
            s += "<text x=\"16\" y=\"\(top + plotH + bottom + Double(k) * 16 + 4)\" fill=\"#555\" font-size=\"11\">\(escape(note))</text>\n"
        }
        return s + "</svg>\n"
    }
}
