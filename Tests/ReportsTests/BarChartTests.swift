import Foundation
import Testing
@testable import Reports

@Suite("BarChart: grouped bars on a logarithmic axis")
struct BarChartTests {
    static func chart() -> BarChart {
        var c = BarChart(title: "Seconds per epoch", valueLabel: "seconds (log scale)", categories: ["bp", "dfc-ssa", "dfc"])
        c.series = [
            BarChart.Series(label: "published code", values: [3.1, 228, 1120], color: 0),
            BarChart.Series(label: "target", values: [3, 30, 150], color: 1, outlined: true),
        ]
        return c
    }

    /// (series label, value text) → bar width in px, read back from the SVG.
    static func widths(_ svg: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for part in svg.components(separatedBy: "<rect ").dropFirst() {
            guard let w = part.range(of: "width=\""), let t = part.range(of: "<title>"), let e = part.range(of: "</title>") else { continue }
            let width = Double(part[w.upperBound...].prefix { $0 != "\"" }) ?? .nan
            out[String(part[t.upperBound..<e.lowerBound])] = width
        }
        return out
    }

    @Test("the axis covers every value in whole decades")
    func decades() {
        let d = Self.chart().decades()
        #expect(d.lo == 0 && d.hi == 4)   // 3 … 1 120 s: 10^0 … 10^4
        var one = Self.chart()
        one.series = [BarChart.Series(label: "x", values: [5, 5, 5], color: 0)]
        let flat = one.decades()
        #expect(flat.hi == flat.lo + 1, "a single value still gets a decade")
    }

    @Test("a bar's length is its value on the log axis")
    func lengths() {
        let c = Self.chart()
        let w = Self.widths(c.svg())
        let plotW = c.width - 130 - 200
        #expect(c.svg().contains(">10000</text>"), "the last decade, written out")
        for (label, value) in [("published code: 1120", 1120.0), ("published code: 228", 228), ("target: 30.0", 30), ("target: 3.00", 3)] {
            let width = try? #require(w[label], "\(label) in \(w.keys.sorted())")
            #expect(abs((width ?? .nan) - log10(value) / 4 * plotW) < 0.01, "\(label)")
        }
        #expect(w.count == 6)
    }

    @Test("values that are not positive and finite get no bar and read n/a")
    func missing() {
        var c = Self.chart()
        c.series[0].values = [3.1, .nan, 0]
        c.series[1].values = [-1, .infinity]   // one short: the third category has none
        let svg = c.svg()
        #expect(Self.widths(svg).count == 1)
        #expect(svg.components(separatedBy: ">n/a<").count - 1 == 5)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test("text is escaped")
    func escaping() {
        var c = Self.chart()
        c.categories[0] = "a<b & \"c\""
        c.notes = ["x > y"]
        let svg = c.svg()
        #expect(svg.contains("a&lt;b &amp; &quot;c&quot;") && svg.contains("x &gt; y"))
        #expect(!svg.contains("a<b"))
    }
}
