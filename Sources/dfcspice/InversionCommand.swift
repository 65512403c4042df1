import ArgumentParser
import DFC
import DynamicInversion
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import Training

/// `dfcspice di`: the Dynamic Inversion paper's experiments.
struct InversionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "di",
        abstract: "Train with dynamic inversion and its baselines (DI paper: bp, fa, pbp, ndi, di, sldi) and plot them side by side.",
        discussion: """
        One run per rule from the same initial network (the config's seed), each in OUT/<rule>/ \
        (metrics.jsonl, one JSON object per epoch, epoch 0 = untrained). Then OUT/ gets the \
        comparison plots: nmse.svg (regression) or test-error.svg (images), max-eigenvalue.svg \
        (max Re λ(W_l B_l − α I) of every controller, Eq. 13), angle-di-ndi.svg, \
        angle-ndi-pbp.svg, angle-sldi-ndi.svg (hidden-layer error vectors), angle-b.svg \
        (B_l against −W_lᵀ), and summary.md.

        The `dynamicInversion` config section sets α, dt, steps, the feedback initialization \
        (tr: B = −Wᵀ, r: random stable) and the rules; learningRate, batchSize and epochs come \
        from `training`. Regression data are the student–teacher generator with the config's \
        network (the DI paper's 30-20-10 linear and 30-20-10-10 tanh tasks); images are \
        Fashion-MNIST (or MNIST with --data-dir).

        Examples:
          dfcspice di --config Examples/dynamic-inversion/linear-regression.yaml \\
              --out runs/di-linear
          dfcspice di --config Examples/dynamic-inversion/classification.yaml \\
              --data images --limit 5000 --out runs/di-fm
        """
    )

    enum DataKind: String, ExpressibleByArgument, CaseIterable { case regression, images, autoencoder }

    @OptionGroup var options: ConfigOptions
    @Option(help: "regression (student–teacher from the config's network), images (classification) or autoencoder (images reconstructed; NMSE).")
    var data: DataKind = .regression
    @Option(help: ArgumentHelp("Directory with the four IDX files (default: Debian's dataset-fashion-mnist).", valueName: "DIR")) var dataDir: String?
    @Option(help: "Use only the first N training images (and N/5 test images).") var limit: Int?
    @Option(parsing: .upToNextOption, help: "Rules to run (default: the config's dynamicInversion.rules).") var rules: [String] = []
    @Option(help: ArgumentHelp("Output directory (must not hold a previous di run).", valueName: "OUT")) var out: String
    @Flag(help: "Only redraw OUT's plots and summary from its OUT/<rule>/metrics.jsonl (e.g. after a run was stopped).")
    var replot = false

    func run() throws {
        if replot { return try redraw() }
        let experiment = try options.loadExperiment()
        let c = experiment.model
        let ruleList = try rules.isEmpty ? experiment.inversion.rules : rules.map { name in
            guard let r = InversionRule(rawValue: name) else {
                throw ValidationError("unknown rule '\(name)' (one of \(InversionRule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return r
        }
        let dir = URL(fileURLWithPath: out)
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("summary.md").path) {
            throw InputError(file: dir.path, "already holds a di run; choose a new directory")
        }
        let (trainX, trainY, testX, testY, classification) = try loadData(experiment)
        let network = try Network.initialized(c, seed: c.seed)
        let inversion = experiment.inversion
        let training = inversion.training(experiment.training)
        // Check every rule before any long run starts.
        let model = try InversionModel.initialized(network: network, initialization: inversion.initialization,
                                                   alpha: inversion.parameters.alpha, margin: inversion.margin, seed: c.seed)
        for rule in ruleList {
            for w in try model.check(rule, parameters: inversion.parameters) { print("warning: \(rule.rawValue): \(w)") }
        }
        // Only now, after every check: a refused run leaves nothing behind.
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: dir.path, "cannot create the output directory: \(error.localizedDescription)")
        }
        print(String(format: "%@: %d train / %d test samples, init %@, α %.3g, dt %.3g × %d steps, lr %.3g, batch %d, %d epochs, seed %llu",
                     c.name, trainX.rows, testX.rows, inversion.initialization.rawValue, inversion.parameters.alpha,
                     inversion.parameters.dt, inversion.parameters.steps, training.learningRate, training.batchSize,
                     training.epochs, c.seed))
        var results: [(InversionRule, [InversionEpoch])] = []
        var stopped: [InversionRule: String] = [:]
        let line = ProgressLine()
        let encoder = TrainingCheckpoint.encoder   // sorted keys, ±∞/NaN as strings
        for rule in ruleList {
            var trainer = try InversionTrainer(model: model, rule: rule, parameters: inversion.parameters, training: training,
                                               loss: c.loss, seed: c.seed)
            let runDir = dir.appendingPathComponent(rule.rawValue)
            try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
            var epochs: [InversionEpoch] = []
            var elapsed = 0.0
            do {
            try trainer.run(trainX: trainX, trainY: trainY, testX: testX, testY: testY, classification: classification) { e in
                epochs.append(e)
                let lines = try epochs.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: runDir.appendingPathComponent("metrics.jsonl"))
                let measure = e.testNMSE.map { String(format: "test NMSE %.4g", $0) } ?? e.testError.map { String(format: "test error %.2f %%", 100 * $0) } ?? ""
                let eig = e.diagnostics.map { String(format: ", max Re λ %.3g", $0.maxRealEigenvalues.max() ?? .nan) } ?? ""
                elapsed += e.seconds
                line.show(String(format: "%@ epoch %d/%d: %@, train loss %.4g, unsettled %d%@, %.0f s", rule.rawValue, e.epoch,
                                 training.epochs, measure, e.trainLoss, e.unconverged, eig, elapsed),
                          fraction: Double(e.epoch) / Double(max(training.epochs, 1)))
            }
            } catch let e as ModelError {
                // A rule that goes unstable or diverges is a result, not a failure of the run:
                // the others still train, and the summary says where this one stopped.
                line.finish()
                print("warning: \(e.message)")
                stopped[rule] = e.message
            }
            line.finish()
            print(Self.ruleLine(rule, epochs, seconds: elapsed, stopped: stopped[rule] != nil))
            var npz = NPZ(ModelFile.arrays(of: trainer.model.network))
            for (k, b) in trainer.model.feedback.enumerated() { npz["B\(k + 2)"] = NDArray(b) }
            npz["seed"] = NDArray(integer: Int64(clamping: c.seed))
            try npz.write(to: runDir.appendingPathComponent("model.npz"))
            results.append((rule, epochs))
        }
        let summary = try Self.plots(results, classification: classification, stopped: stopped, to: dir)
        print("\n" + summary)
        print("wrote \(dir.path) (summary.md, plots, <rule>/metrics.jsonl and model.npz)")
    }

    /// One line per finished rule: where its test measure started, ended and was best.
    static func ruleLine(_ rule: InversionRule, _ epochs: [InversionEpoch], seconds: Double, stopped: Bool) -> String {
        let classification = epochs.contains { $0.testError != nil }
        let m = testMeasure(epochs, classification: classification)
        return "\(rule.rawValue): \(max(epochs.count - 1, 0)) epochs, \(classification ? "test error" : "test NMSE") \(m.start) → "
            + "\(m.end) (best \(m.best)), " + String(format: "%.0f s", seconds) + (stopped ? ", stopped early (see the warning)" : "")
    }

    /// A rule's test measure (error in %, or NMSE) before training, after it, and the best
    /// after any epoch, formatted for the summary line and table.
    static func testMeasure(_ epochs: [InversionEpoch], classification: Bool) -> (start: String, end: String, best: String) {
        let v = epochs.map { classification ? 100 * ($0.testError ?? .nan) : ($0.testNMSE ?? .nan) }
        let fmt = classification ? "%.2f %%" : "%.4g"
        return (String(format: fmt, v.first ?? .nan), String(format: fmt, v.last ?? .nan), String(format: fmt, v.dropFirst().min() ?? .nan))
    }

    /// Plots and summary from the metrics already in OUT (rules in the config's order).
    func redraw() throws {
        let experiment = try options.loadExperiment()
        let dir = URL(fileURLWithPath: out)
        let decoder = TrainingCheckpoint.decoder
        var results: [(InversionRule, [InversionEpoch])] = []
        var classification = false
        for rule in experiment.inversion.rules {
            let path = dir.appendingPathComponent(rule.rawValue).appendingPathComponent("metrics.jsonl").path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let epochs = try text.split(separator: "\n").enumerated().map { k, line in
                do { return try decoder.decode(InversionEpoch.self, from: Data(line.utf8)) } catch {
                    throw InputError(file: path, field: "line \(k + 1)", "not an epoch record")
                }
            }
            classification = classification || epochs.contains { $0.testError != nil }
            results.append((rule, epochs))
        }
        guard !results.isEmpty else { throw InputError(file: dir.path, "no <rule>/metrics.jsonl to plot") }
        try Self.plots(results, classification: classification, stopped: [:], to: dir)
        print("redrew \(dir.path) from \(results.map(\.0.rawValue).joined(separator: ", "))")
    }

    func loadData(_ experiment: Experiment) throws -> (Matrix, Matrix, Matrix, Matrix, Bool) {
        let c = experiment.model
        switch data {
        case .regression:
            let task = try StudentTeacher(configuration: c, seed: c.seed)
            let train = task.samples(experiment.training.trainSamples, seed: SeededGenerator(seed: c.seed).derived(0xDA7A).state.0)
            let test = task.samples(experiment.training.testSamples, seed: SeededGenerator(seed: c.seed).derived(0x7E57).state.0)
            return (train.input, train.labels, test.input, test.labels, false)
        case .images:
            if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
            let images = try ImageDataset.load(directory: dataDir ?? ImageDataset.debianFashionMNIST, limit: limit)
            guard c.sizes.first == images.train.inputs.columns, c.sizes.last == 10 else {
                throw InputError(file: options.config, field: "network.sizes", "image data needs \(images.train.inputs.columns) inputs and 10 outputs")
            }
            return (images.train.inputs, images.train.labels, images.test.inputs, images.test.labels, true)
        case .autoencoder:
            if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
            let images = try ImageDataset.load(directory: dataDir ?? ImageDataset.debianFashionMNIST, limit: limit)
            let n = images.train.inputs.columns
            guard c.sizes.first == n, c.sizes.last == n else {
                throw InputError(file: options.config, field: "network.sizes", "an autoencoder needs \(n) inputs and \(n) outputs")
            }
            return (images.train.inputs, images.train.inputs, images.test.inputs, images.test.inputs, false)
        }
    }

    /// Writes the plots and summary.md; returns the summary table.
    @discardableResult
    static func plots(_ results: [(InversionRule, [InversionEpoch])], classification: Bool, stopped: [InversionRule: String],
                      to dir: URL) throws -> String {
        func plot(_ file: String, _ title: String, _ yLabel: String, log: Bool, _ values: (InversionEpoch) -> [Double]) throws {
            var p = LinePlot(title: title, xLabel: "epoch", yLabel: yLabel)
            p.logY = log
            // Angles of 1e-14° are round-off between equal vectors, not a result.
            if yLabel == "degrees" { p.numericalZero = 1e-9 }
            for (k, (rule, epochs)) in results.enumerated() {
                let layers = epochs.map(values).map(\.count).max() ?? 0
                for j in 0..<layers {
                    let points = epochs.compactMap { e in values(e).indices.contains(j) ? (Double(e.epoch), values(e)[j]) : nil }
                    guard !points.isEmpty else { continue }
                    // Solid: the layer nearest the output; dashed: the ones below it.
                    p.series.append(.init(label: layers > 1 ? "\(rule.rawValue) (\(j + 1))" : rule.rawValue, x: points.map(\.0),
                                          y: points.map(\.1), color: k, dashed: j != layers - 1))
                }
            }
            if !p.series.isEmpty { try AtomicFile.write(p.svg(), to: dir.appendingPathComponent(file)) }
        }
        if classification {
            try plot("test-error.svg", "Test error", "% misclassified", log: false) { e in e.testError.map { [100 * $0] } ?? [] }
        } else {
            try plot("nmse.svg", "Normalized test MSE", "NMSE (log)", log: true) { e in e.testNMSE.map { [$0] } ?? [] }
        }
        try plot("max-eigenvalue.svg", "Stability: max Re λ(W_l B_l − α I) per controller (Eq. 13)", "Re λ", log: false) { e in
            e.diagnostics?.maxRealEigenvalues ?? []
        }
        try plot("angle-di-ndi.svg", "Angle between DI and NDI hidden errors δ_l", "degrees", log: false) { $0.diagnostics?.angleDIvsNDI ?? [] }
        try plot("angle-ndi-pbp.svg", "Angle between NDI and PBP hidden errors δ_l", "degrees", log: false) { $0.diagnostics?.angleNDIvsPBP ?? [] }
        try plot("angle-sldi-ndi.svg", "Angle between SLDI and NDI hidden errors δ_l", "degrees", log: false) { $0.diagnostics?.angleSLDIvsNDI ?? [] }
        try plot("angle-b.svg", "Angle between B_l and −W_lᵀ", "degrees", log: false) { $0.diagnostics?.feedbackAngles ?? [] }
        var md = "| rule | epochs | start | end | best | unsettled backward passes (last epoch) | stopped |\n|---|---|---|---|---|---|---|\n"
        for (rule, epochs) in results {
            let m = testMeasure(epochs, classification: classification)
            md += "| \(rule.rawValue) | \(epochs.count - 1) | \(m.start) | \(m.end) | \(m.best) | \(epochs.last?.unconverged ?? 0) | \(stopped[rule] ?? "—") |\n"
        }
        try AtomicFile.write(md, to: dir.appendingPathComponent("summary.md"))
        return md
    }
}
