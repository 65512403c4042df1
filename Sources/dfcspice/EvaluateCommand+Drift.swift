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
    func evaluateDrift(_ experiment: Experiment, network: Network, x: Matrix, y: Matrix, classification: Bool, configPath: String) throws {
        let c = experiment.model
        let d = experiment.circuit.device
        guard d.driftNu > 0 || d.driftNuSpread > 0 else {
            throw InputError(file: config ?? "", field: "circuit.device.driftNu", "--drift-time needs drifting devices (driftNu or driftNuSpread > 0, e.g. preset: pcm)")
        }
        let ideal = DataSetEvaluation.evaluate(network, inputs: x, labels: y, loss: c.loss, classification: classification, range: 0..<x.rows)
        print(String(format: "ideal weights: loss %.5g%@", ideal.meanLoss, ideal.errorRate.map { String(format: ", error %.2f %%", 100 * $0) } ?? ""))
        // A Markdown table, so it can be pasted into a report as it is.
        let header = ["time after programming", "loss"] + (classification ? ["error"] : []) + ["programmings"]
            + (recalibrate > 0 ? ["after recalibrating on \(recalibrate) samples: loss"] + (classification ? ["error"] : []) : [])
        print("| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count))
        let recalibration = recalibrate > 0 ? try recalibrationSet(experiment, configPath: configPath) : nil
        var rows: [(t: Double, loss: Double, error: Double?)] = []
        var afterRecalibration: [(t: Double, loss: Double, error: Double?)] = []
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
            var line = String(format: "| %@ | %.5g | ", Self.duration(t), loss) + (error.map { String(format: "%.2f %% | ", 100 * $0) } ?? "") + "\(programmings)"
            if let recalibration {
                let b = try recalibrated(network, experiment: experiment, circuit: p, data: recalibration)
                let e = DataSetEvaluation.evaluate(outputs: { b.feedforwardOutput($0) }, inputs: x, labels: y, loss: c.loss,
                                                   classification: classification, range: 0..<x.rows)
                afterRecalibration.append((t, e.meanLoss, e.errorRate))
                line += String(format: " | %.5g", e.meanLoss) + (e.errorRate.map { String(format: " | %.2f %%", 100 * $0) } ?? "")
            }
            print(line + " |")
        }
        guard let driftPlot else { return }
        var plot = LinePlot(title: "\(c.name): after programming (ν \(d.driftNu) ± \(d.driftNuSpread), t_c \(d.driftReferenceTime) s)",
                            xLabel: "time after programming (s, log)", yLabel: classification ? "test error (%)" : "test loss")
        let points = rows.filter { $0.t > 0 }
        plot.series.append(LinePlot.Series(label: "as programmed",
                                           x: points.map(\.t),
                                           y: points.map { classification ? 100 * ($0.error ?? 0) : $0.loss }, color: 0))
        let again = afterRecalibration.filter { $0.t > 0 }
        if !again.isEmpty {
            plot.series.append(LinePlot.Series(label: "recalibrated", x: again.map(\.t),
                                               y: again.map { classification ? 100 * ($0.error ?? 0) : $0.loss }, color: 2))
        }
        if let first = points.first, let last = points.last {
            let level = classification ? 100 * (ideal.errorRate ?? 0) : ideal.meanLoss
            plot.series.append(LinePlot.Series(label: "ideal", x: [first.t, last.t], y: [level, level], color: 1, dashed: true))
        }
        plot.logX = true
        // The measured ages are few: mark them.
        for k in plot.series.indices where !plot.series[k].dashed { plot.series[k].markers = true }
        plot.notes.append("device seed \(experiment.circuit.deviceSeed ?? c.seed)")
        if recalibrate > 0 { plot.notes.append("recalibrated on \(recalibrate)") }
        if programmings > 1 { plot.notes.append("mean of \(programmings) programmings") }
        try AtomicFile.write(plot.svg(), to: URL(fileURLWithPath: driftPlot))
        print("wrote \(driftPlot)")
    }

    /// The first `--recalibrate` samples of the training set (and a few test samples the
    /// trainer's own end-of-pass evaluation reads).
    func recalibrationSet(_ experiment: Experiment, configPath: String) throws -> TrainingData {
        switch data {
        case .images:
            let images = try ImageDataset.load(directory: dataDir ?? ImageDataset.debianFashionMNIST, limit: limit)
            var d = TrainingData.images(images)
            let n = min(recalibrate, d.trainX.rows)
            d.trainX = d.trainX.rows(0..<n)
            d.trainY = d.trainY.rows(0..<n)
            d.testX = d.testX.rows(0..<min(256, d.testX.rows))
            d.testY = d.testY.rows(0..<min(256, d.testY.rows))
            d.validationX = Matrix(rows: 0, columns: 0)
            d.validationY = Matrix(rows: 0, columns: 0)
            return d
        case .studentTeacher:
            var d = try TrainingData.studentTeacher(configuration: experiment.model, training: experiment.training)
            let n = min(recalibrate, d.trainX.rows)
            d.trainX = d.trainX.rows(0..<n)
            d.trainY = d.trainY.rows(0..<n)
            return d
        }
    }

    /// One pass of in-the-loop training over `data` from `network` on the drifted devices, in a
    /// scratch run directory; the backend it ends with.
    func recalibrated(_ network: Network, experiment: Experiment, circuit: CircuitParameters, data: TrainingData) throws -> BehavioralBackend {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-recalibrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = experiment.training
        t.epochs = 1
        t.feedbackPretrainEpochs = 0
        t.extraFeedbackEpochs = 0
        t.feedbackPassFirst = false
        t.checkpointEvery = Int.max / 2
        let backend = try BehavioralBackend(network: network, configuration: experiment.model, circuit: circuit)
        let trainer = try HILTrainer(backend: backend, configuration: experiment.model, training: t,
                                     variant: experiment.model.variant, directory: dir, resume: false, data: data)
        _ = try trainer.run()
        return trainer.backend
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
