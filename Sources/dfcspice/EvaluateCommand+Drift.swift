import ArgumentParser
import Circuit
import DFC
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import Training

extension EvaluateCommand {
    /// Accuracy after deployment: the same programmings read at each `--drift-time`, through
    /// the behavioral backend (each device's ν is its own draw, so the times follow one chip).
    func evaluateDrift(_ experiment: Experiment, network: Network, x: Matrix, y: Matrix, classification: Bool) throws {
        let c = experiment.model
        let d = experiment.circuit.device
        guard d.driftNu > 0 || d.driftNuSpread > 0 else {
            throw InputError(file: config ?? "", field: "circuit.device.driftNu", "--drift-time needs drifting devices (driftNu or driftNuSpread > 0, e.g. preset: pcm)")
        }
        let ideal = DataSetEvaluation.evaluate(network, inputs: x, labels: y, loss: c.loss, classification: classification, range: 0..<x.rows)
        print(String(format: "ideal weights: loss %.5g%@", ideal.meanLoss, ideal.errorRate.map { String(format: ", error %.2f %%", 100 * $0) } ?? ""))
        print("time after programming | loss | " + (classification ? "error | " : "") + "programmings")
        var rows: [(t: Double, loss: Double, error: Double?)] = []
        for t in driftTime {
            var p = experiment.circuit
            p.device.driftTime = t
            var losses: [Double] = [], errors: [Double] = []
            for round in 0..<programmings {
                let b = try BehavioralBackend(network: network, configuration: c, circuit: p, programmingRound: UInt64(round))
                let e = DataSetEvaluation.evaluate(outputs: { b.feedforwardOutput($0) }, inputs: x, labels: y, loss: c.loss,
                                                   classification: classification, range: 0..<x.rows)
                losses.append(e.meanLoss)
                if let r = e.errorRate { errors.append(r) }
            }
            let loss = losses.reduce(0, +) / Double(losses.count)
            let error = errors.isEmpty ? nil : errors.reduce(0, +) / Double(errors.count)
            rows.append((t, loss, error))
            print(String(format: "%@ | %.5g | ", Self.duration(t), loss) + (error.map { String(format: "%.2f %% | ", 100 * $0) } ?? "") + "\(programmings)")
        }
        guard let driftPlot else { return }
        var plot = LinePlot(title: "\(c.name): after programming (ν \(d.driftNu) ± \(d.driftNuSpread), t_c \(d.driftReferenceTime) s)",
                            xLabel: "log10(seconds after programming)", yLabel: classification ? "test error (%)" : "test loss")
        let points = rows.filter { $0.t > 0 }
        plot.series.append(LinePlot.Series(label: "devices, \(programmings) programming\(programmings == 1 ? "" : "s")",
                                           x: points.map { log10($0.t) },
                                           y: points.map { classification ? 100 * ($0.error ?? 0) : $0.loss }, color: 0))
        if let first = points.first, let last = points.last {
            let level = classification ? 100 * (ideal.errorRate ?? 0) : ideal.meanLoss
            plot.series.append(LinePlot.Series(label: "ideal weights", x: [log10(first.t), log10(last.t)], y: [level, level], color: 1, dashed: true))
        }
        plot.notes.append("device seed \(experiment.circuit.deviceSeed ?? c.seed); each time reads the same programmed devices")
        try AtomicFile.write(plot.svg(), to: URL(fileURLWithPath: driftPlot))
        print("wrote \(driftPlot)")
    }

    static func duration(_ t: Double) -> String {
        switch t {
        case ..<60: return String(format: "%g s", t)
        case ..<3600: return String(format: "%g min", t / 60)
        case ..<86_400: return String(format: "%g h", t / 3600)
        case ..<(86_400 * 365): return String(format: "%g d", t / 86_400)
        default: return String(format: "%g y", t / (86_400 * 365))
        }
    }
}
