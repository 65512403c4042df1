import ArgumentParser
import Circuit
import DFC
import Emulation
import Reports
import Foundation
import LinearAlgebra
import NumPyFormat
import Training

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run every variant on the student–teacher example and write a report.",
        discussion: """
        Makes a teacher dataset, initializes a student, runs dfc, dfc-ss, dfc-ssa, the \
        -fixed forms and the baselines on one batch, and writes DIR/report.md (a table of \
        convergence and the DFC paper's diagnostics), DIR/report.json, and the inputs and \
        results as .npy/.npz files. `make demo` runs this on Examples/student-teacher.yaml.

        Example:
          dfcspice demo --config Examples/student-teacher.yaml --out runs/demo
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Output directory (created if missing).", valueName: "dir")) var out: String
    @Option(help: "Samples in the batch.") var samples = 128

    struct Row: Encodable {
        var variant: String
        var converged: Int
        var notConverged: Int
        var diverged: Int
        var seconds: Double
        var updateNorm: Double
        var diagnostics: Diagnostics
    }

    struct Report: Encodable {
        var config: String
        var seed: UInt64
        var sizes: [Int]
        var samples: Int
        var loss: Double
        var conventions: Conventions
        var rows: [Row]
    }

    func run() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        let experiment = try options.loadExperiment()
        let configuration = experiment.model
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: out, "cannot create the output directory: \(error.localizedDescription)")
        }
        let seed = configuration.seed
        let task = try StudentTeacher(configuration: configuration, seed: seed)
        let (x, y) = task.samples(samples, seed: seed &+ 1)
        try NDArray(x).writeNPY(to: dir.appendingPathComponent("x.npy"))
        try NDArray(y).writeNPY(to: dir.appendingPathComponent("y.npy"))
        let network = try Network.initialized(configuration, seed: seed)
        try ModelFile.write(network, seed: seed, to: dir.appendingPathComponent("model.npz").path)
        let solver = try Solver(network: network, configuration: configuration)
        print("student–teacher \(configuration.sizes.map(String.init).joined(separator: "-")), \(samples) samples, seed \(seed), feedback init \(configuration.feedbackInit.rawValue)")

        var rows: [Row] = []
        var loss = 0.0
        let variants: [Variant] = [.dfc, .dfcSS, .dfcSSA, .bp, .dfa]
        for variant in variants {
            var g = SeededGenerator(seed: seed)
            let start = Date()
            let s = try solver.solve(input: x, labels: y, variant: variant, generator: &g)
            let seconds = Date().timeIntervalSince(start)
            loss = s.loss
            try SolutionFile.write(s, seed: seed, to: dir.appendingPathComponent("\(variant.rawValue).npz").path)
            let d = try solver.diagnostics(for: s, input: x, labels: y)
            let norm = flattenUpdate(s.dW, s.db).reduce(0) { $0 + $1 * $1 }.squareRoot()
            rows.append(Row(variant: variant.rawValue, converged: s.count(.converged), notConverged: s.count(.notConverged),
                            diverged: s.count(.diverged), seconds: seconds, updateNorm: norm, diagnostics: d))
            let verdict = variant.isDFC ? String(format: "converged %3d/%d", s.count(.converged), samples) : "(no dynamics)     "
            print("  " + variant.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + verdict + String(format: "  ∠BP %6.2f°  ∠GN %6.2f°  ∠MN %6.2f°  ∠SSA %@  max Re λ %+.3f  (%.2f s)",
                         d.angleToBP, d.angleToGN, d.angleToMN,
                         d.angleToSSA.map { String(format: "%6.2f°", $0) } ?? "   —   ", d.maxRealEigenvalue, seconds))
        }
        let report = Report(config: options.config, seed: seed, sizes: configuration.sizes, samples: samples, loss: loss,
                            conventions: configuration.conventions, rows: rows)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: dir.appendingPathComponent("report.json"))
        try AtomicFile.write(markdown(report), to: dir.appendingPathComponent("report.md"))
        print("wrote \(dir.appendingPathComponent("report.md").path) and report.json")

        // The same network as a circuit in embedded ngspice, sample 0 against the ideal ODEs.
        let spice = try SpiceBackend(network: network, configuration: configuration, circuit: experiment.circuit)
        let ideal = try IdealBackend(network: network, configuration: configuration)
        let reference = try ideal.run(input: x.row(0), labels: y.row(0))
        let candidate = try spice.run(input: x.row(0), labels: y.row(0))
        let comparison = Comparison.compare(reference: reference, candidate: candidate, activations: configuration.activations,
                                            controller: configuration.controller, tolerance: configuration.control.convergenceTolerance,
                                            referenceName: ideal.name, candidateName: "circuit")
        let compareDir = dir.appendingPathComponent("compare")
        try ComparisonReport(title: "Circuit versus ideal: \(configuration.name), sample 0",
                             context: ComparisonReport.circuitContext(config: options.config, configuration: configuration,
                                                                      model: "initialized from seed \(configuration.seed)",
                                                                      circuit: experiment.circuit, engine: "embedded",
                                                                      referenceWeights: "requested", referencePhi: "the equation"),
                             comparison: comparison, reference: reference, candidate: candidate,
                             signalScale: experiment.circuit.signalScale, timeScale: experiment.circuit.timeScale,
                             tauU: configuration.control.tauU).write(to: compareDir)
        let worst = comparison.signals.max { $0.rmsOverRange < $1.rmsOverRange }
        print(String(format: "circuit vs ideal (sample 0, embedded ngspice): worst trace RMS %.2e of range (%@), final u %.2e relative, ΔW angles %@°",
                     worst?.rmsOverRange ?? 0, worst?.signal ?? "-", comparison.agreement("u")?.finalRelative ?? 0,
                     comparison.updateAngles.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
        print("wrote \(compareDir.appendingPathComponent("report.html").path)")
    }

    func markdown(_ r: Report) -> String {
        var s = """
        # DFCSpice demo: student–teacher, ideal solver

        Config `\(r.config)`, network \(r.sizes.map(String.init).joined(separator: "-")), \(r.samples) samples,
        seed \(r.seed), batch loss at the feedforward state \(String(format: "%.4f", r.loss)).
        Conventions: leak \(r.conventions.leak.rawValue), loss reduction \(r.conventions.lossReduction.rawValue),
        trajectory average \(r.conventions.trajectoryAverage.rawValue), transmission \(r.conventions.transmission.rawValue).

        Angles are between whole-network updates (all W_i, b_i), in degrees. Condition 1: std/mean of the
        layer norms (0 is ideal); Condition 2: share of Q in the row space of J (1 is ideal); max Re λ: the
        largest real part of the linearized closed loop's eigenvalues at the end state (negative = stable).

        | variant | converged | ∠BP | ∠GN | ∠MN | ∠SSA | Cond. 1 | Cond. 2 | max Re λ | ‖ΔW‖ | time (s) |
        |---|---|---|---|---|---|---|---|---|---|---|

        """
        for row in r.rows {
            let d = row.diagnostics
            // Baselines have no dynamics to converge.
            let simulated = (try? Variant.named(row.variant))?.isDFC ?? false
            s += "| \(row.variant) | " + (simulated ? "\(row.converged)/\(r.samples)" : "n/a")
            s += row.diverged > 0 ? " (\(row.diverged) diverged)" : ""
            s += String(format: " | %.2f | %.2f | %.2f | ", d.angleToBP, d.angleToGN, d.angleToMN)
            s += d.angleToSSA.map { String(format: "%.2f", $0) } ?? "—"
            s += String(format: " | %.3f | %.3f | %+.3f | %.3g | %.3f |\n", d.condition1, d.condition2,
                        d.maxRealEigenvalue, row.updateNorm, row.seconds)
        }
        return s
    }
}
