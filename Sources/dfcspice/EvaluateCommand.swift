import ArgumentParser
import Circuit
import DFC
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Spice
import Sweep
import Training

enum SplitChoice: String, ExpressibleByArgument, CaseIterable { case test, validation, train }

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Loss and test error of a trained model, ideal and on the config's hardware.",
        discussion: """
        The "train ideal, deploy analog" gap: the model's loss (and, for images, error) with \
        its own weights, and on a backend: behavioral (the weights the config's devices \
        realise: levels, programming noise, stuck cells, drift, variation, IR drop, and the \
        circuit's DC point with its offsets, converters and φ; `--programmings K` \
        averages K draws of the programming noise) or spice (the whole circuit's feedforward \
        operating point in ngspice, sample by sample, `--workers` at a time).

        `--drift-time T…` reads the same programmed devices T seconds after programming (the \
        config's drift ν, its spread and t_c) and prints loss and error against time; \
        `--recalibrate N` adds one in-the-loop pass over N training samples at each time, and \
        `--drift-plot F.svg` draws both.

        `--shard I/N` evaluates the I-th of N slices of the set (whole chunks of 16 samples \
        counted from its start); `--merge` puts the shards' JSON files back together into \
        exactly the unsharded result. `dfcspice sweep` runs shards on a Slurm cluster.

        Examples:
          dfcspice evaluate --config Examples/fashion-mnist/bp.yaml \\
              --model runs/fm-bp/model.npz --device-bits 6 --programming-noise 0.02
          dfcspice evaluate --config st.yaml --model m.npz --data student-teacher \\
              --backend spice --workers 2 --shard 0/4 --out e0.json
          dfcspice evaluate --merge e0.json e1.json e2.json e3.json --out e.json
          dfcspice evaluate --config pcm.yaml --model m.npz \\
              --drift-time 20 3600 86400 --recalibrate 5000 --drift-plot d.svg
        """
    )

    @Option(help: ArgumentHelp("Experiment config (YAML or JSON).", valueName: "file")) var config: String?
    @Option(help: ArgumentHelp("Model file.", valueName: "model.npz")) var model: String?
    @Option(help: "ideal, behavioral or spice.") var backend: BackendChoice = .behavioral
    @Option(help: "images (Fashion-MNIST, or MNIST with --data-dir) or student-teacher (the config's task).")
    var data: DataChoice = .images
    @Option(help: ArgumentHelp("Directory with the four IDX files (default: Debian's dataset-fashion-mnist).", valueName: "DIR"))
    var dataDir: String?
    @Option(help: "Use only the first N training images (and N/5 test images).") var limit: Int?
    @Option(help: "test, validation or train.") var split: SplitChoice = .test
    @Option(help: "Override the config's device levels by bits (0: keep the config's).") var deviceBits = 0
    @Option(help: "Override the config's relative programming noise (negative: keep the config's).") var programmingNoise = -1.0
    @Option(help: "Independent programmings of the weights to draw (behavioral backend; 1 with --shard).") var programmings = 1
    @Option(help: "SPICE worker processes (samples simulated in parallel).") var workers = 1
    @Option(help: ArgumentHelp("Evaluate the I-th of N slices of the set.", valueName: "I/N")) var shard: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Shards' JSON files to merge (with --out; nothing is evaluated).", valueName: "E.json"))
    var merge: [String] = []
    @Option(help: ArgumentHelp("Write the evaluation (per-sample losses included) as JSON.", valueName: "E.json")) var out: String?
    @Option(help: ArgumentHelp("Spread the set over N shards, run them as a sweep (--engine) and merge them into --out.", valueName: "N"))
    var shards: Int?
    @Option(help: "With --shards: local (one shard after the other) or slurm (a job array; waits for it).") var engine: SweepRunCommand.Engine = .local
    @Option(help: ArgumentHelp("With --shards: the shards' sweep directory (default: OUT.shards); an existing one is resumed.", valueName: "DIR"))
    var sweepDir: String?
    @OptionGroup(title: "Slurm (with --shards --engine slurm)") var slurmOptions: SlurmOptions
    @Option(parsing: .upToNextOption, help: ArgumentHelp("""
        Behavioral backend: evaluate the devices read at each of these times after programming \
        (seconds; the config's drift ν, spread and t_c), a table of loss and error against time.
        """, valueName: "T"))
    var driftTime: [Double] = []
    @Option(help: ArgumentHelp("With --drift-time: draw error (or loss) against time as this SVG.", valueName: "F.svg"))
    var driftPlot: String?
    @Option(help: ArgumentHelp("""
        With --drift-time: after each time, recalibrate in the loop — one pass of the config's \
        variant and optimizer over the first N training samples on the drifted devices (reprogrammed \
        arrays are read at the same time after programming) — and evaluate again.
        """, valueName: "N"))
    var recalibrate = 0
    @Option(help: ArgumentHelp("Memory this command may plan to use (e.g. 64G); default: what the machine has available.", valueName: "bytes"))
    var maxMemory: String?

    /// Option checks that need no file, run when the command line is parsed (so `sweep plan`
    /// refuses a point's bad options before anything runs).
    func validate() throws {
        guard programmings >= 1 else { throw ValidationError("--programmings must be ≥ 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be ≥ 1") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch let e as ModelError { throw ValidationError("--shard: \(e.message)") }
            guard programmings == 1 else { throw ValidationError("--shard takes one programming (--programmings 1)") }
        }
        guard backend == .behavioral || programmings == 1 else { throw ValidationError("--programmings applies to the behavioral backend") }
        if let shards {
            guard (1...10_000).contains(shards) else { throw ValidationError("--shards must be 1…10000") }
            guard shard == nil else { throw ValidationError("--shards runs every shard; --shard evaluates one") }
            guard programmings == 1 else { throw ValidationError("--shards takes one programming (--programmings 1)") }
        }
        if deviceBits > 24 { throw ValidationError("--device-bits must be 1…24") }
        if !driftTime.isEmpty {
            guard backend == .behavioral else { throw ValidationError("--drift-time applies to the behavioral backend") }
            guard shard == nil, shards == nil, merge.isEmpty else { throw ValidationError("--drift-time evaluates the whole set (no --shard, --shards or --merge)") }
            guard driftTime.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw ValidationError("--drift-time: times must be finite and ≥ 0 seconds") }
        }
        if driftPlot != nil && driftTime.isEmpty { throw ValidationError("--drift-plot needs --drift-time") }
        if recalibrate != 0 && driftTime.isEmpty { throw ValidationError("--recalibrate needs --drift-time") }
        guard recalibrate >= 0 else { throw ValidationError("--recalibrate must be ≥ 0 samples") }
    }

    func run() throws {
        try applyMaxMemory(maxMemory)
        if !merge.isEmpty { return try mergeShards() }
        guard let config else { throw ValidationError("give --config FILE (or --merge shards --out FILE)") }
        guard let model else { throw ValidationError("give --model FILE") }
        if let shards { return try runShards(shards, config: config, model: model) }
        guard programmings >= 1 else { throw ValidationError("--programmings must be ≥ 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be ≥ 1") }
        let part = try shard.map { text in
            do { return try Shard(parsing: text) } catch let e as ModelError { throw ValidationError("--shard: \(e.message)") }
        }
        guard part == nil || programmings == 1 else { throw ValidationError("--shard takes one programming (--programmings 1)") }
        guard backend == .behavioral || programmings == 1 else { throw ValidationError("--programmings applies to the behavioral backend") }
        if let out { try checkOutputPath(out, distinctFrom: [config, model]) }
        let started = Date()
        var experiment = try ConfigurationLoader.loadExperiment(path: config)
        if deviceBits > 0 {
            guard deviceBits <= 24 else { throw ValidationError("--device-bits must be 1…24") }
            experiment.circuit.device.levels = 1 << deviceBits
        }
        if programmingNoise >= 0 { experiment.circuit.device.programmingNoise = programmingNoise }
        let c = experiment.model
        let network = try ModelFile.read(path: model, configuration: c)
        let (x, y, classification) = try samples(experiment, configPath: config)
        if !driftTime.isEmpty { return try evaluateDrift(experiment, network: network, x: x, y: y, classification: classification, configPath: config) }
        let range = part?.range(samples: x.rows) ?? 0..<x.rows
        let ideal = DataSetEvaluation.evaluate(network, inputs: x, labels: y, loss: c.loss, classification: classification, range: range)
        let p = experiment.circuit
        let d = p.device
        var hardware = "\(d.levels > 0 ? "\(d.levels) levels" : "continuous"), programming noise \(d.programmingNoise), "
            + "stuck on/off \(d.stuckOnFraction)/\(d.stuckOffFraction), device physics \(d.physicsSummary)\(p.readsThroughNoise ? " (in every read)" : ""), device seed \(p.deviceSeed ?? c.seed)"
        var evaluation = ideal
        var rounds: [[Double]]? = nil
        switch backend {
        case .ideal:
            hardware = "the model's own weights"
        case .behavioral:
            // The behavioral backend's DC point: realised weights, and with a circuit beyond them
            // its offsets, converters, sinh cells and measured φ (docs/behavioral-model.md).
            var all: [DataSetEvaluation] = []
            for round in 0..<programmings {
                let b = try BehavioralBackend(network: network, configuration: c, circuit: p, programmingRound: UInt64(round))
                all.append(DataSetEvaluation.evaluate(outputs: { b.feedforwardOutput($0) }, inputs: x, labels: y, loss: c.loss,
                                                      classification: classification, range: range))
            }
            evaluation = all[0]
            if programmings > 1 { rounds = all.map { [$0.meanLoss] + ($0.errorRate.map { [$0] } ?? []) } }
        case .spice:
            let engine: any SpiceEngine = workers > 1 ? try SpiceWorkerPool(workers: workers, executable: currentExecutable()) : FallbackEngine()
            let spice = try SpiceBackend(network: network, configuration: c, circuit: p, engine: engine, workers: workers)
            hardware += "; op-amps \(p.opAmp.summary); φ \(p.activation.transistorCircuit?.summary ?? "behavioral")"
            let progress = Progress(total: range.count)
            evaluation = try DataSetEvaluation.evaluate(spice, inputs: x, labels: y, loss: c.loss, classification: classification,
                                                        range: range, progress: { progress.show($0) })
            progress.finish()
        }
        let report = EvaluationReport(config: config, model: model, backend: backend.rawValue, data: data.rawValue, split: split.rawValue,
                                      seed: c.seed, deviceSeed: p.deviceSeed ?? c.seed, shard: part?.description, hardware: hardware,
                                      evaluation: evaluation, ideal: ideal, programmings: rounds, seconds: Date().timeIntervalSince(started))
        print(Self.summary(report))
        if let out { try AtomicFile.write(try EvaluationReport.encoder.encode(report), to: URL(fileURLWithPath: out)) }
    }

    /// The evaluated set: images (a split of the IDX files) or the config's student–teacher task.
    func samples(_ experiment: Experiment, configPath: String) throws -> (Matrix, Matrix, Bool) {
        switch data {
        case .images:
            if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
            let images = try ImageDataset.load(directory: dataDir ?? ImageDataset.debianFashionMNIST, limit: limit)
            guard experiment.model.sizes.first == images.test.inputs.columns, experiment.model.sizes.last == 10 else {
                throw InputError(file: configPath, field: "network.sizes", "image data needs \(images.test.inputs.columns) inputs and 10 outputs")
            }
            let set = split == .test ? images.test : split == .validation ? images.validation : images.train
            return (set.inputs, set.labels, true)
        case .studentTeacher:
            let d = try TrainingData.studentTeacher(configuration: experiment.model, training: experiment.training)
            switch split {
            case .test: return (d.testX, d.testY, false)
            case .train: return (d.trainX, d.trainY, false)
            case .validation: throw ValidationError("the student–teacher task has no validation split (use test or train)")
            }
        }
    }

    func mergeShards() throws {
        guard let out else { throw ValidationError("--merge needs --out FILE") }
        guard config == nil, model == nil, shard == nil else { throw ValidationError("--merge takes only the shards' files and --out") }
        try checkOutputPath(out, distinctFrom: merge)
        let parts = try merge.map { path -> EvaluationReport in
            let data = Data(try InputFile.text(path: path, maxBytes: 1 << 30, limitReason: "an evaluation").utf8)
            do { return try EvaluationReport.decoder.decode(EvaluationReport.self, from: data) } catch {
                throw InputError(file: path, "not an evaluation written by dfcspice evaluate --out")
            }
        }
        let whole: EvaluationReport
        do { whole = try EvaluationReport.merged(parts) } catch let e as ModelError {
            throw InputError(file: merge.joined(separator: ", "), e.message)
        }
        print(Self.summary(whole))
        try AtomicFile.write(try EvaluationReport.encoder.encode(whole), to: URL(fileURLWithPath: out))
    }

    /// The set as N shards of a sweep (`dfcspice sweep`), run here or on Slurm, then merged.
    func runShards(_ n: Int, config: String, model: String) throws {
        guard (1...10_000).contains(n) else { throw ValidationError("--shards must be 1…10000") }
        guard shard == nil else { throw ValidationError("--shards runs every shard; --shard evaluates one") }
        guard programmings == 1 else { throw ValidationError("--shards takes one programming (--programmings 1)") }
        guard let out else { throw ValidationError("--shards needs --out FILE for the merged evaluation") }
        try checkOutputPath(out, distinctFrom: [config, model])
        let dir = URL(fileURLWithPath: sweepDir ?? out + ".shards").standardizedFileURL
        func absolute(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var options = ["model: \(quoted(absolute(model)))", "backend: \(backend.rawValue)", "data: \(data.rawValue)",
                       "split: \(split.rawValue)", "workers: \(workers)"]
        if let dataDir { options.append("data-dir: \(quoted(absolute(dataDir)))") }
        if let limit { options.append("limit: \(limit)") }
        if deviceBits > 0 { options.append("device-bits: \(deviceBits)") }
        if programmingNoise >= 0 { options.append("programming-noise: \(programmingNoise)") }
        let stem = URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        let yaml = """
            # Written by dfcspice evaluate --shards \(n): one point per shard of the evaluated set.
            name: evaluate-\(stem.isEmpty ? "shards" : stem)
            base: \(quoted(absolute(config)))
            command: evaluate
            options:
            \(options.map { "  " + $0 }.joined(separator: "\n"))
            vary:
              --shard: [\((0..<n).map { "'\($0)/\(n)'" }.joined(separator: ", "))]

            """
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent(SweepManifest.fileName).path) {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-shards-\(getpid()).yaml")
            try Data(yaml.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            _ = try SweepPlan.plan(try SweepFile.load(path: file.path), into: dir) { command, args in
                try SweepPlanCommand.validate(command, Array(args.dropFirst()))
            }
        }
        let manifest = try SweepManifest.load(directory: dir)
        guard manifest.command == .evaluate, manifest.axes.count == 1, manifest.axes[0].key == "--shard", manifest.points == n else {
            throw InputError(file: dir.path, "holds another sweep than \(n) shards of this evaluation; give another --sweep-dir")
        }
        let slurm = try slurmOptions.engine()
        let todo = SweepStatus.read(directory: dir, manifest: manifest,
                                    scheduler: engine == .slurm ? SlurmEngine.view(directory: dir, manifest: manifest) : SchedulerView()).toRun
        if !todo.isEmpty {
            switch engine {
            case .local:
                _ = try LocalEngine.run(directory: dir, indices: todo, workers: 1, executable: URL(fileURLWithPath: slurm.executable)) { index, ok in
                    FileHandle.standardError.write(Data("shard \(index)/\(n) \(ok ? "done" : "FAILED")\n".utf8))
                }
            case .slurm:
                let job = try slurm.submit(directory: dir, manifest: manifest, points: todo)
                FileHandle.standardError.write(Data("submitted Slurm job \(job): \(todo.count) shards; waiting\n".utf8))
                _ = SlurmEngine.waitForQueue(directory: dir, manifest: manifest)
            }
        }
        let status = SweepStatus.read(directory: dir, manifest: manifest)
        guard status.count(.done) == n else {
            let failed = status.indices(.failed).prefix(3).map { "shard \($0): \(status.reasons[$0] ?? "failed")" }.joined(separator: "; ")
            throw InputError(file: dir.path, "\(n - status.count(.done)) of \(n) shards did not finish (\(failed)); run the same command again to retry them")
        }
        let parts = try (0..<n).map { index -> EvaluationReport in
            let url = SweepManifest.pointDirectory(dir, index).appendingPathComponent("out/evaluation.json")
            return try EvaluationReport.decoder.decode(EvaluationReport.self, from: Data(contentsOf: url))
        }
        var whole = try EvaluationReport.merged(parts)
        whole.config = config
        whole.model = model
        print(Self.summary(whole))
        try AtomicFile.write(try EvaluationReport.encoder.encode(whole), to: URL(fileURLWithPath: out))
    }

    /// Two lines: the ideal weights, then the backend (the lines `table`'s users know).
    static func summary(_ r: EvaluationReport) -> String {
        func figure(_ e: DataSetEvaluation) -> String {
            e.errorRate.map { String(format: "%.2f %% %@ error (loss %.6g)", 100 * $0, r.split, e.meanLoss) }
                ?? String(format: "%@ loss %.6g", r.split, e.meanLoss)
        }
        let slice = r.shard.map { " [shard \($0): samples \(r.evaluation.start)..<\(r.evaluation.end) of \(r.evaluation.total)]" } ?? ""
        var lines = ["ideal weights: \(figure(r.ideal))\(slice)"]
        switch r.backend {
        case "ideal": break
        case "behavioral":
            var line = "programmed (\(r.hardware)): \(figure(r.evaluation))"
            if let p = r.programmings {
                let m = r.metrics
                line = "programmed (\(r.hardware)): " + (m["errorRate"].map { String(format: "%.2f %% %@ error", 100 * $0, r.split) }
                    ?? String(format: "%@ loss %.6g", r.split, m["meanLoss"] ?? .nan))
                    + " (" + p.map { $0.count > 1 ? String(format: "%.2f", 100 * $0[1]) : String(format: "%.6g", $0[0]) }.joined(separator: ", ") + ")"
            }
            lines.append(line)
        default:
            lines.append("circuit in ngspice (\(r.hardware)): \(figure(r.evaluation))"
                + (r.evaluation.skipped.isEmpty ? "" : ", \(r.evaluation.skipped.count) samples skipped (no convergence)"))
        }
        lines.append("seed \(r.seed), device seed \(r.deviceSeed), \(r.evaluation.samples) samples, \(String(format: "%.1f", r.seconds)) s")
        return lines.joined(separator: "\n")
    }
}

/// Samples done, their rate and the time left, for long SPICE evaluations (only on a terminal).
final class Progress: @unchecked Sendable {
    let total: Int
    let start = Date()
    private let line = ProgressLine(logInterval: .infinity)

    init(total: Int) { self.total = total }

    func show(_ done: Int) {
        let rate = Double(done) / max(1e-9, Date().timeIntervalSince(start))
        let eta = rate > 0 ? Double(total - done) / rate : 0
        line.show(String(format: "%d/%d samples  %.1f samples/s  ETA %.0f s", done, total, rate, eta))
    }

    func finish() { line.finish() }
}
