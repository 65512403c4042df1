import Emulation
import Foundation

extension ComparisonReport {
    public func html(plotFiles: [String]) -> String {
        let e = LinePlot.escape
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(e(title))</title>
        <style>body{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:1100px;color:#222}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
        th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.bad{color:#b00020;font-weight:bold}
        .warn{background:#fff3cd}.notes{max-width:60em}
        img{display:block;margin:1em 0;max-width:100%}</style></head><body>
        <h1>\(e(title))</h1>
        <table>
        """
        for (k, v) in context { s += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        s += "<tr><th>verdict (\(e(comparison.referenceName)) / \(e(comparison.candidateName)))</th><td>\(e(comparison.referenceStatus)) / \(e(comparison.candidateStatus))</td></tr>\n"
        s += "<tr><th>compared span, grid points</th><td>\(String(format: "%.3f", comparison.span)) τ_u, \(comparison.points)</td></tr>\n</table>\n"
        s += "<h2>Agreement per signal</h2>\n<p>RMS over time and neurons, and the largest difference, each divided by the reference signal's range; final: relative difference of the last state. Red: RMS above 1 % of range. "
            + "Amber: a largest difference above \(Int(Self.maxFlag * 100)) % of range, explained under the table.</p>\n"
        s += "<table><tr><th>signal</th><th>RMS / range</th><th>max / range</th><th>at t</th><th>final (relative)</th><th>range</th></tr>\n"
        for a in comparison.signals {
            let flag = a.rmsOverRange > 0.01 ? " class=\"bad\"" : ""
            let maxFlag = a.maxOverRange > Self.maxFlag ? " class=\"warn\"" : ""
            let at = a.timeOfMax.map { time($0) } ?? "—"
            s += "<tr><td>\(e(a.signal))</td><td\(flag)>\(String(format: "%.2e", a.rmsOverRange))</td><td\(maxFlag)>\(String(format: "%.2e", a.maxOverRange))</td><td>\(e(at))</td><td>\(String(format: "%.2e", a.finalRelative))</td><td>\(String(format: "%.3g", a.range))</td></tr>\n"
        }
        let notes = maxNotes(comparison.signals.filter { $0.maxOverRange > Self.maxFlag })
        if !notes.isEmpty { s += "</table>\n<ul class=\"notes\">" + notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n<table>" }
        s += "</table>\n<h2>Weight updates</h2>\n<table><tr><th>layer</th><th>angle between ΔW (degrees)</th></tr>\n"
        for (i, a) in comparison.updateAngles.enumerated() {
            s += "<tr><td>W\(i + 1), b\(i + 1)</td><td\(a > 2 ? " class=\"bad\"" : "")>\(String(format: "%.3f", a))</td></tr>\n"
        }
        s += "</table>\n<h2>Traces</h2>\n<p>\(e(scaleCaption))</p>\n"
        for f in plotFiles { s += "<img src=\"\(e(f))\" alt=\"\(e(f))\">\n" }
        return s + "<p>Metrics as JSON: <a href=\"report.json\">report.json</a>.</p>\n</body></html>\n"
    }

    /// What a unit on the plots' axes is, said once.
    var scaleCaption: String {
        var parts = ["Signals are in model units"]
        if let volts = signalScale {
            parts[0] += "; the circuit holds a signal x as the voltage x·V_s at its node, V_s = \(LinePlot.label(volts)) V"
        }
        let unit = timeAxis.unit
        parts.append(unit.map { "time in the circuit's \($0)" } ?? "time in model units (τ_u = \(LinePlot.label(tauU)))")
        return parts.joined(separator: "; ") + ". Solid: \(comparison.candidateName); dashed: \(comparison.referenceName)."
    }

    /// A model time as the plots show it.
    func time(_ t: Double) -> String {
        let axis = timeAxis
        return String(format: "%.3g", t * axis.factor) + (axis.unit.map { " " + $0 } ?? "")
    }

    /// Why signals' largest differences are large, from where they happen: the signals whose
    /// largest difference sits at the start share one explanation.
    func maxNotes(_ flagged: [SignalAgreement]) -> [String] {
        func range(_ xs: [SignalAgreement]) -> String {
            let lo = xs.map(\.maxOverRange).min() ?? 0, hi = xs.map(\.maxOverRange).max() ?? 0
            return lo == hi ? String(format: "%.2f", lo) : String(format: "%.2f–%.2f", lo, hi)
        }
        // The first 2 % of the transient is the start-up: the step where the target switches on.
        let atStart = flagged.filter { ($0.timeOfMax ?? .infinity) <= 0.02 * comparison.span }
        var notes: [String] = []
        if !atStart.isEmpty {
            let names = atStart.map(\.signal).joined(separator: ", ")
            let last = atStart.compactMap(\.timeOfMax).max() ?? 0
            notes.append("\(names): largest difference \(range(atStart)) of range, at t ≤ \(time(last)), the start. In the ideal "
                + "equations the controller's proportional path (k_p·e) and the apical compartment follow the error at t = 0⁺, a jump; "
                + "the circuit's op-amps and integrators take a few of their time constants to follow it. The RMS column shows how "
                + "closely the traces agree after it.")
        }
        for a in flagged where !atStart.contains(where: { $0.signal == a.signal }) {
            let at = a.timeOfMax.map { " at t = \(time($0))" } ?? ""
            notes.append("\(a.signal): largest difference \(String(format: "%.2f", a.maxOverRange)) of range\(at); difference.svg shows where it builds up.")
        }
        return notes
    }
}
