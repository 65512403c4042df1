import DFC
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat

/// The report of a circuit-versus-ideal comparison: SVG plots, an HTML page that
/// collects them with a table of the metrics, and the metrics as JSON.
public struct ComparisonReport: Sendable {
    public var title: String
    public var context: [(String, String)]
    public var comparison: Comparison
    public var reference: SampleRun
    public var candidate: SampleRun

    public init(title: String, context: [(String, String)], comparison: Comparison, reference: SampleRun, candidate: SampleRun) {
        self.title = title
        self.context = context
        self.comparison = comparison
        self.reference = reference
        self.candidate = candidate
    }

    /// At most this many neurons per layer are drawn, so plots stay readable.
    static let neuronsPerPlot = 6

    /// Plots by file name.
    public func plots() -> [(String, LinePlot)] {
        var out: [(String, LinePlot)] = []
        let refName = comparison.referenceName, candName = comparison.candidateName
        func overlay(_ title: String, _ yLabel: String, _ ref: Matrix, _ cand: Matrix, _ symbol: String) -> LinePlot {
            var p = LinePlot(title: title, xLabel: "time (units of τ_u)", yLabel: yLabel)
            for j in 0..<min(ref.columns, Self.neuronsPerPlot) {
                p.series.append(.init(label: "\(symbol)\(j)", x: candidate.time, y: cand.column(j), color: j))
                p.series.append(.init(label: "\(symbol)\(j) \(refName)", x: reference.time, y: ref.column(j), color: j, dashed: true, showInLegend: false))
            }
            p.notes = ["solid: \(candName)", "dashed: \(refName)"]
            if ref.columns > Self.neuronsPerPlot { p.notes.append("(first \(Self.neuronsPerPlot) of \(ref.columns))") }
            return p
        }
        for i in 0..<reference.soma.count {
            out.append(("layer\(i + 1)-soma.svg", overlay("Layer \(i + 1): somatic potential v\(i + 1)", "v (model units; volts / s)", reference.soma[i], candidate.soma[i], "v")))
        }
        out.append(("controller-u.svg", overlay("Controller output u", "u (model units)", reference.u, candidate.u, "u")))
        out.append(("error-e.svg", overlay("Output error e = r_L* − r_L", "e (model units)", reference.error, candidate.error, "e")))
        // Difference over time: max over neurons of |candidate − reference| per signal group.
        var diff = LinePlot(title: "|\(candName) − \(refName)|, largest over neurons", xLabel: "time (units of τ_u)", yLabel: "|difference| (model units, log)")
        diff.logY = true
        let end = comparison.span
        let grid = candidate.time.filter { $0 <= end + 1e-12 }
        var groups: [(String, Matrix, Matrix)] = (0..<reference.soma.count).map { ("v\($0 + 1)", reference.soma[$0], candidate.soma[$0]) }
        groups.append(("u", reference.u, candidate.u))
        for (c, group) in groups.enumerated() {
            let r = interpolate(group.1, at: reference.time, onto: grid)
            let d = (0..<grid.count).map { k in (0..<r.columns).map { abs(group.2[k, $0] - r[k, $0]) }.max() ?? 0 }
            diff.series.append(.init(label: group.0, x: grid, y: d, color: c))
        }
        out.append(("difference.svg", diff))
        return out
    }

    public func json() throws -> Data {
        struct Document: Encodable {
            var title: String
            var context: [String: String]
            var comparison: Comparison
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Document(title: title, context: Dictionary(context, uniquingKeysWith: { a, _ in a }), comparison: comparison))
    }

    public func html(plotFiles: [String]) -> String {
        let e = LinePlot.escape
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(e(title))</title>
        <style>body{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:1100px;color:#222}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
        th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.bad{color:#b00020;font-weight:bold}
        img{display:block;margin:1em 0;max-width:100%}</style></head><body>
        <h1>\(e(title))</h1>
        <table>
        """
        for (k, v) in context { s += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        s += "<tr><th>verdict (\(e(comparison.referenceName)) / \(e(comparison.candidateName)))</th><td>\(e(comparison.referenceStatus)) / \(e(comparison.candidateStatus))</td></tr>\n"
        s += "<tr><th>compared span, grid points</th><td>\(String(format: "%.3f", comparison.span)) τ_u, \(comparison.points)</td></tr>\n</table>\n"
        s += "<h2>Agreement per signal</h2>\n<p>RMS over time and neurons, and the largest difference, each divided by the reference signal's range; final: relative difference of the last state.</p>\n"
        s += "<table><tr><th>signal</th><th>RMS / range</th><th>max / range</th><th>final (relative)</th><th>range</th></tr>\n"
        for a in comparison.signals {
            let flag = a.rmsOverRange > 0.01 ? " class=\"bad\"" : ""
            s += "<tr><td>\(e(a.signal))</td><td\(flag)>\(String(format: "%.2e", a.rmsOverRange))</td><td>\(String(format: "%.2e", a.maxOverRange))</td><td>\(String(format: "%.2e", a.finalRelative))</td><td>\(String(format: "%.3g", a.range))</td></tr>\n"
        }
        s += "</table>\n<h2>Weight updates</h2>\n<table><tr><th>layer</th><th>angle between ΔW (degrees)</th></tr>\n"
        for (i, a) in comparison.updateAngles.enumerated() {
            s += "<tr><td>W\(i + 1), b\(i + 1)</td><td\(a > 2 ? " class=\"bad\"" : "")>\(String(format: "%.3f", a))</td></tr>\n"
        }
        s += "</table>\n<h2>Traces</h2>\n"
        for f in plotFiles { s += "<img src=\"\(e(f))\" alt=\"\(e(f))\">\n" }
        return s + "<p>Metrics as JSON: <a href=\"report.json\">report.json</a>.</p>\n</body></html>\n"
    }

    /// Writes report.html, report.json and the SVGs into `directory` (each file atomically).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func put(_ data: Data, _ name: String) throws {
            try AtomicFile.write(data, to: directory.appendingPathComponent(name))
        }
        let plots = plots()
        for (name, plot) in plots { try put(Data(plot.svg().utf8), name) }
        try put(try json(), "report.json")
        try put(Data(html(plotFiles: plots.map(\.0)).utf8), "report.html")
    }
}
