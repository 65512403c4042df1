import ArgumentParser
import Emulation
import Foundation
import NumPyFormat
import Reports
import Training

struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "Plot the learning curves and diagnostics of several training runs side by side.",
        discussion: """
        Reads RUN/metrics.jsonl of each run and writes OUT/test-loss.svg, OUT/test-error.svg \
        for classification runs and, where the runs \
        recorded them, OUT/angle-mn.svg, angle-gn.svg, angle-bp.svg, angle-ssa.svg, \
        condition1.svg, condition2.svg and max-eigenvalue.svg (the measures of the DFC \
        paper's Fig. 3, each of the run's own variant on a fixed probe batch), plus \
        OUT/summary.md (a table of the final figures).

        Example:
          dfcspice curves --runs runs/ideal runs/behavioral runs/spice \\
              --out runs/compare
        """
    )

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Run directories.", valueName: "RUN")) var runs: [String]
    @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String

    func run() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one --runs directory") }
        let decoder = TrainingCheckpoint.decoder
        var series: [(String, [EpochMetrics])] = []
        for run in runs {
            let path = URL(fileURLWithPath: run).appendingPathComponent("metrics.jsonl").path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw InputError(file: path, "not found") }
            let metrics = try text.split(separator: "\n").enumerated().map { k, line in
                do { return try decoder.decode(EpochMetrics.self, from: Data(line.utf8)) } catch {
                    throw InputError(file: path, field: "line \(k + 1)", "not an epoch record")
                }
            }
            series.append((URL(fileURLWithPath: run).lastPathComponent, metrics))
        }
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func plot(_ file: String, _ title: String, _ yLabel: String, log: Bool, _ value: (EpochMetrics) -> Double?) throws {
            var p = LinePlot(title: title, xLabel: "epoch", yLabel: yLabel)
            p.logY = log
            // Angles of 1e-14° are round-off between equal vectors, not a result.
            if yLabel == "degrees" { p.numericalZero = 1e-9 }
            for (k, (name, metrics)) in series.enumerated() {
                let points = metrics.compactMap { m in value(m).map { (Double(m.epoch), $0) } }
                guard !points.isEmpty else { continue }
                p.series.append(.init(label: name, x: points.map(\.0), y: points.map(\.1), color: k, dashed: k % 2 == 1))
            }
            if !p.series.isEmpty { try AtomicFile.write(p.svg(), to: dir.appendingPathComponent(file)) }
        }
        try plot("test-loss.svg", "Test loss", "mean loss per sample (log)", log: true) { $0.testLoss }
        try plot("test-error.svg", "Test error (classification)", "% misclassified", log: false) { $0.testError.map { 100 * $0 } }
        try plot("validation-error.svg", "Validation error (classification; Table 1 picks the epoch where it is lowest)", "% misclassified",
                 log: false) { $0.validationError.map { 100 * $0 } }
        try plot("angle-mn.svg", "Angle of the update to the minimum-norm update", "degrees", log: false) { $0.diagnostics?.angleToMN }
        try plot("angle-bp.svg", "Angle of the update to the BP update", "degrees", log: false) { $0.diagnostics?.angleToBP }
        try plot("angle-gn.svg", "Angle of the update to the Gauss–Newton update", "degrees", log: false) { $0.diagnostics?.angleToGN }
        try plot("angle-ssa.svg", "Angle of the update to the DFC-SSA update", "degrees", log: false) { $0.diagnostics?.angleToSSA }
        try plot("condition1.svg", "Condition 1: spread of the layer norms ‖r_i‖ over their mean", "ratio", log: false) { $0.diagnostics?.condition1 }
        try plot("condition2.svg", "Condition 2: share of Q in the row space of J", "ratio", log: false) { $0.diagnostics?.condition2 }
        try plot("max-eigenvalue.svg", "Largest real eigenvalue of the closed loop", "Re λ (1/τ_u)", log: false) { $0.diagnostics?.maxRealEigenvalue }
        var md = "| run | epochs | test loss start | test loss end | reduction | samples/s | skipped | ∠MN end | ∠BP end |\n|---|---|---|---|---|---|---|---|---|\n"
        for (name, m) in series {
            guard let first = m.first, let last = m.last else { continue }
            let rate = m.dropFirst().map(\.samplesPerSecond).reduce(0, +) / Double(max(1, m.count - 1))
            md += String(format: "| %@ | %d | %.4g | %.4g | %.1f× | %.1f | %d | %@ | %@ |\n", name, last.epoch, first.testLoss, last.testLoss,
                         first.testLoss / max(last.testLoss, 1e-300), rate, m.map(\.skipped).reduce(0, +),
                         last.diagnostics.map { String(format: "%.1f°", $0.angleToMN) } ?? "—",
                         last.diagnostics.map { String(format: "%.1f°", $0.angleToBP) } ?? "—")
        }
        try AtomicFile.write(md, to: dir.appendingPathComponent("summary.md"))
        print(md, terminator: "")
        print("wrote \(dir.path)")
    }
}
