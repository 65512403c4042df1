import Circuit
import DFC
import DynamicInversion
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import Spice

/// The DI backward pass of a batch three ways — in ngspice (`SpiceInversion`, pair by pair
/// from rest), as the exact steady state (NDI, Eq. 17) and Euler-simulated (DI) — with the
/// per-layer distances between them. `di-circuit` and `compare` (for a DI config) both
/// report through this.
struct InversionCircuitComparison {
    struct Row: Encodable {
        var layer: Int
        var circuitVsNDI: Double
        var idealVsNDI: Double
        var angleDegrees: Double
        var circuitResidual: Double
    }

    var rows: [Row]
    var seconds: Double
    /// δ_1(t) of the batch's first sample in the lowest pair's circuit (before ∘ g').
    var traces: LinePlot

    static func run(model: InversionModel, feedforward ff: FeedforwardState, outputError deltaL: Matrix,
                    parameters: InversionParameters, mapper: InversionCircuitMapper, timeScale: Double,
                    engine: any SpiceEngine = FallbackEngine()) throws -> Self {
        let net = model.network
        let ndi = try model.backward(.ndi, feedforward: ff, outputError: deltaL, parameters: parameters)
        let ideal = try model.backward(.di, feedforward: ff, outputError: deltaL, parameters: parameters)
        let started = Date()
        let runner = SpiceInversion(engine: engine, mapper: mapper)
        let spice = try runner.backward(model: model, feedforward: ff, outputError: deltaL)
        let seconds = Date().timeIntervalSince(started)
        func relative(_ a: Matrix, _ b: Matrix) -> Double { (a - b).frobeniusNorm / max(b.frobeniusNorm, 1e-300) }
        let rows = stride(from: net.depth - 1, through: 1, by: -1).map { l in
            Row(layer: l, circuitVsNDI: relative(spice.deltas[l - 1], ndi.deltas[l - 1]),
                idealVsNDI: relative(ideal.deltas[l - 1], ndi.deltas[l - 1]),
                angleDegrees: angleDegrees(spice.deltas[l - 1].storage, ndi.deltas[l - 1].storage),
                circuitResidual: spice.residuals[net.depth - 1 - l])
        }
        let run = try runner.runPair(weights: net.weights[1], feedback: model.feedback[0], target: ndi.deltas[1].row(0), layer: 2)
        // Time in the circuit's µs or ms, units numbered from 1 as layers are.
        let (unit, scale) = (run.time.last ?? 0) > 2e-3 ? ("ms", 1e3) : ("µs", 1e6)
        var plot = LinePlot(title: "DI in the circuit: δ_1(t) of the first sample, units 1–6 (before ∘ g')",
                            xLabel: "time (\(unit) in the circuit; τ = \(LinePlot.label(timeScale * scale)) \(unit))", yLabel: "δ_1 (model units)")
        let t = run.time.map { $0 * scale }
        for j in 0..<min(6, run.deltaTrace.count) {
            plot.series.append(.init(label: "δ_1[\(j + 1)]", x: t, y: run.deltaTrace[j], color: j))
        }
        return Self(rows: rows, seconds: seconds, traces: plot)
    }

    /// The Markdown table `di-circuit` prints.
    var table: String {
        var lines = ["| hidden layer | circuit vs NDI | ideal DI vs NDI | angle circuit/NDI | circuit residual |", "|---|---|---|---|---|"]
        for r in rows {
            lines.append(String(format: "| δ_%d | %.2e | %.2e | %.4f° | %.2e |", r.layer, r.circuitVsNDI, r.idealVsNDI, r.angleDegrees, r.circuitResidual))
        }
        return lines.joined(separator: "\n")
    }

    /// DIR/comparison.json, DIR/traces.svg and DIR/report.html (the table and the plot), each atomically.
    func write(to dir: URL, context: [(String, String)]) throws {
        struct Report: Encodable { var context: [String: String]; var seconds: Double; var layers: [Row] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let report = Report(context: Dictionary(context, uniquingKeysWith: { a, _ in a }), seconds: seconds, layers: rows)
        try AtomicFile.write(try encoder.encode(report), to: dir.appendingPathComponent("comparison.json"))
        try AtomicFile.write(traces.svg(), to: dir.appendingPathComponent("traces.svg"))
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let contextRows = context.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined()
        let layerRows = rows.map {
            String(format: "<tr><td>δ_%d</td><td>%.2e</td><td>%.2e</td><td>%.4f°</td><td>%.2e</td></tr>",
                   $0.layer, $0.circuitVsNDI, $0.idealVsNDI, $0.angleDegrees, $0.circuitResidual)
        }.joined()
        let html = """
        <!doctype html><html><head><meta charset="utf-8"><title>DI circuit versus NDI and ideal DI</title>
        <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>
        <h1>DI backward pass: circuit versus NDI and ideal DI</h1>
        <table>\(contextRows)</table>
        <h2>Hidden-layer errors δ_l (relative Frobenius distance over the batch)</h2>
        <table><tr><th>layer</th><th>circuit vs NDI</th><th>ideal DI vs NDI</th><th>angle circuit/NDI</th><th>circuit residual</th></tr>\(layerRows)</table>
        <p>ngspice time: \(String(format: "%.2f", seconds)) s. The residual is ‖W δ − δ_l − α u‖/‖δ_l‖ at the circuit's end state.</p>
        <img src="traces.svg" alt="δ_1(t) in the circuit">
        </body></html>
        """
        try AtomicFile.write(html, to: dir.appendingPathComponent("report.html"))
    }
}
