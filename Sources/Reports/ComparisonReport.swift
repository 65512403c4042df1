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
    /// Volts per model unit of signal (V_s) and seconds per model time unit, when the
    /// candidate is a circuit: the plots then say what a unit is and run in seconds.
    public var signalScale: Double?
    public var timeScale: Double?
    /// τ_u in model time units (the papers' 1).
    public var tauU: Double

    public init(title: String, context: [(String, String)], comparison: Comparison, reference: SampleRun, candidate: SampleRun,
                signalScale: Double? = nil, timeScale: Double? = nil, tauU: Double = 1) {
        self.title = title
        self.context = context
        self.comparison = comparison
        self.reference = reference
        self.candidate = candidate
        self.signalScale = signalScale
        self.timeScale = timeScale
        self.tauU = tauU
    }

    /// A max/range above this is flagged in the table and explained under it.
    public static let maxFlag = 0.1

    /// The time axis: the circuit's time in a readable unit (µs, ms, s), or model time (no unit).
    var timeAxis: (label: String, factor: Double, unit: String?) {
        guard let seconds = timeScale else { return ("time (model units; τ_u = \(LinePlot.label(tauU)))", 1, nil) }
        let span = (candidate.time.last ?? 1) * seconds
        let (unit, perSecond) = span < 1e-3 ? ("µs", 1e6) : span < 1 ? ("ms", 1e3) : ("s", 1.0)
        return ("time (\(unit) in the circuit; τ_u = \(LinePlot.label(tauU * seconds * perSecond)) \(unit))", seconds * perSecond, unit)
    }

    /// The y label of a signal in model units.
    func unitLabel(_ symbol: String) -> String {
        guard let volts = signalScale else { return "\(symbol) (model units)" }
        return "\(symbol) (units of V_s = \(LinePlot.label(volts)) V)"
    }

    /// At most this many neurons per layer are drawn, so plots stay readable.
    static let neuronsPerPlot = 6

    /// Plots by file name. Layers and neurons are numbered from 1 everywhere: v2[3] is
    /// neuron 3 of layer 2, as in the titles and the table.
    public func plots() -> [(String, LinePlot)] {
        var out: [(String, LinePlot)] = []
        let refName = comparison.referenceName, candName = comparison.candidateName
        let axis = timeAxis
        let candTime = candidate.time.map { $0 * axis.factor }, refTime = reference.time.map { $0 * axis.factor }
        func overlay(_ title: String, _ yLabel: String, _ ref: Matrix, _ cand: Matrix, _ symbol: String) -> LinePlot {
            var p = LinePlot(title: title, xLabel: axis.label, yLabel: yLabel)
            for j in 0..<min(ref.columns, Self.neuronsPerPlot) {
                p.series.append(.init(label: "\(symbol)[\(j + 1)]", x: candTime, y: cand.column(j), color: j))
                p.series.append(.init(label: "\(symbol)[\(j + 1)] \(refName)", x: refTime, y: ref.column(j), color: j, dashed: true, showInLegend: false))
            }
            p.notes = ["solid: \(candName)", "dashed: \(refName)"]
            if ref.columns > Self.neuronsPerPlot { p.notes.append("(neurons 1–\(Self.neuronsPerPlot) of \(ref.columns))") }
            return p
        }
        for i in 0..<reference.soma.count {
            out.append(("layer\(i + 1)-soma.svg", overlay("Layer \(i + 1): somatic potential v\(i + 1)", unitLabel("v\(i + 1)"),
                                                      reference.soma[i], candidate.soma[i], "v\(i + 1)")))
        }
        out.append(("controller-u.svg", overlay("Controller output u", unitLabel("u"), reference.u, candidate.u, "u")))
        out.append(("error-e.svg", overlay("Output error e = r_L* − r_L", unitLabel("e"), reference.error, candidate.error, "e")))
        // Difference over time: max over neurons of |candidate − reference| per signal group.
        var diff = LinePlot(title: "|\(candName) − \(refName)|, largest over neurons", xLabel: axis.label,
                            yLabel: unitLabel("|difference|") + ", log")
        diff.logY = true
        let end = comparison.span
        let grid = candidate.time.filter { $0 <= end + 1e-12 }
        var groups: [(String, Matrix, Matrix)] = (0..<reference.soma.count).map { ("v\($0 + 1)", reference.soma[$0], candidate.soma[$0]) }
        groups.append(("u", reference.u, candidate.u))
        for (c, group) in groups.enumerated() {
            let r = interpolate(group.1, at: reference.time, onto: grid)
            let d = (0..<grid.count).map { k in (0..<r.columns).map { abs(group.2[k, $0] - r[k, $0]) }.max() ?? 0 }
            diff.series.append(.init(label: group.0, x: grid.map { $0 * axis.factor }, y: d, color: c))
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
