import ArgumentParser
import Circuit
import DFC
import Dispatch
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import Spice
import Training

enum BackendChoice: String, ExpressibleByArgument, CaseIterable { case ideal, behavioral, spice }

enum DataChoice: String, ExpressibleByArgument, CaseIterable {
    case studentTeacher = "student-teacher"
    case images
}

/// Set from the SIGINT handler, read by the trainer after every batch.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stop = false
    func request() { lock.withLock { stop = true } }
    var requested: Bool { lock.withLock { stop } }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train on the student–teacher task or images with the ideal, behavioral or SPICE backend (hardware in the loop).",
        discussion: """
        Per mini-batch every sample runs on the backend (feedforward phase, target, \
        controlled run), the plasticity of Eq. 5 is integrated from its traces, the host \
        takes an optimizer step (config `training` section: sgd or adam) and reprograms \
        the device arrays whose values changed (the others keep their conductances). \
        Variants that learn Q also run the feedback phase (Eq. 12–13): the config's \
        feedback pre-training passes first, then extra passes after each epoch (or one \
        update per batch). RUN/ receives metrics.jsonl (one line per epoch, with seconds \
        per phase), learning-curve.svg, model.npz and checkpoint.json (+ its tensor NPZ), \
        written atomically every training.checkpointEvery samples and at every epoch. \
        Ctrl-C stops after the current batch with a checkpoint; `--resume RUN/` continues \
        exactly where it stopped, with the config and backend the run saved (RUN/config.yaml, \
        RUN/checkpoint.json); give the same --data, --data-dir and --limit: a resume on \
        other data is refused (the checkpoint holds a fingerprint of the data).

        Examples:
          dfcspice train --config Examples/training/st-4-3-2.yaml --backend spice \\
              --workers 2 --out runs/spice
          dfcspice train --workers 2 --resume runs/spice
          dfcspice train --config Examples/fashion-mnist/dfc-ssa.yaml \\
              --data images --out runs/fm-dfc-ssa
          dfcspice train --config Examples/fashion-mnist/bp-6bit.yaml \\
              --backend behavioral --data images --out runs/fm-bp-6bit
        """
    )

    @Option(help: ArgumentHelp("Experiment config (YAML or JSON); with --resume, RUN/config.yaml when not given.", valueName: "file"))
    var config: String?
    @Option(help: "ideal, behavioral or spice (default: ideal; with --resume, the run's).") var backend: BackendChoice?
    @Option(help: "Variant (dfc, dfc-ss, dfc-ssa, their -fixed forms, bp, fa, dfa, ddtp-linear). Default: the config's.") var variant: String?
    @Option(help: "SPICE worker processes (simulations in parallel).") var workers = 1
    @Option(help: "student-teacher (generated from the config) or images (Fashion-MNIST, or MNIST with --data-dir).")
    var data: DataChoice = .studentTeacher
    @Option(help: ArgumentHelp("Directory with the four IDX files (default: Debian's dataset-fashion-mnist).", valueName: "DIR"))
    var dataDir: String?
    @Option(help: "Use only the first N training images (and N/5 test images), for quick runs.") var limit: Int?
    @Option(help: ArgumentHelp("New run directory.", valueName: "RUN")) var out: String?
    @Option(help: ArgumentHelp("Continue the run in this directory.", valueName: "RUN")) var resume: String?
    @Option(help: ArgumentHelp("Memory the run may plan to use (e.g. 64G); default: what the machine has available.", valueName: "bytes"))
    var maxMemory: String?

    func run() throws {
        try applyMaxMemory(maxMemory)
        guard (out == nil) != (resume == nil) else { throw ValidationError("give either --out RUN (a new run) or --resume RUN") }
        guard workers >= 1 else { throw ValidationError("--workers must be ≥ 1") }
        if let resume, !FileManager.default.fileExists(atPath: URL(fileURLWithPath: resume).appendingPathComponent("checkpoint.json").path) {
            throw InputError(file: resume, "holds no run to resume (no checkpoint.json)")
        }
        // A run keeps the config it started with, so a resume needs only the directory.
        guard let configPath = config ?? resume.map({ URL(fileURLWithPath: $0).appendingPathComponent("config.yaml").path }) else {
            throw ValidationError("a new run needs --config FILE")
        }
        var experiment = try ConfigurationLoader.loadExperiment(path: configPath)
        let v = try variant.map(Variant.named) ?? experiment.model.variant
        // The configuration carries the run's variant: its validation depends on it (ddtp-linear
        // needs σ_fb > 0) and the run directory's config.yaml records it. The loader validated the
        // file's own, so only an override is checked again.
        if v != experiment.model.variant {
            experiment.model.variant = v
            do { try experiment.model.validate() } catch let e as ModelError {
                throw InputError(file: configPath, "with --variant \(v.rawValue): \(e.message)")
            }
        }
        let c = experiment.model
        let dir = URL(fileURLWithPath: out ?? resume ?? ".")
        // A resume holds the run from before its checkpoint is read; a new run creates and
        // holds its directory only once its config and data have been checked (`startRun`),
        // so a refused run leaves nothing behind.
        let resumeLock: RunLock?
        if out != nil {
            try Self.checkNewRunDirectory(dir)
            resumeLock = nil
        } else {
            resumeLock = try RunLock(directory: dir)
        }
        defer { withExtendedLifetime(resumeLock) {} }
        let startRun = { () throws -> RunLock? in
            guard out != nil else { return nil }
            return try Self.createRunDirectory(dir, config: configPath)
        }
        try Self.requireMemory(for: experiment, data: data, configPath: configPath)
        let network = try Network.initialized(c, seed: c.seed)
        let stop = StopFlag()
        // Ctrl-C, and SIGTERM (what Slurm sends at a job's time limit or preemption, and a
        // sweep passes on): stop after the current batch with a checkpoint.
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.request() }
            source.resume()
            return source
        }
        defer { withExtendedLifetime(sources) {} }
        switch try backend ?? resumedBackend() ?? .ideal {
        case .ideal:
            try train(IdealBackend(network: network, configuration: c), experiment, v, dir, stop, configPath: configPath, startRun: startRun)
        case .behavioral:
            try train(BehavioralBackend(network: network, configuration: c, circuit: experiment.circuit), experiment, v, dir, stop,
                      configPath: configPath, startRun: startRun)
        case .spice:
            let engine: any SpiceEngine = workers > 1
                ? try SpiceWorkerPool(workers: workers, executable: currentExecutable()) : FallbackEngine()
            try train(SpiceBackend(network: network, configuration: c, circuit: experiment.circuit, engine: engine, workers: workers),
                      experiment, v, dir, stop, configPath: configPath, startRun: startRun)
        }
    }

    /// The backend a resumed run trained on, from its checkpoint.json (nil for a new run, or
    /// when the checkpoint is missing: the trainer then says so).
    func resumedBackend() throws -> BackendChoice? {
        guard let resume, let name = TrainingCheckpoint.backend(in: URL(fileURLWithPath: resume)) else { return nil }
        guard let choice = BackendChoice(rawValue: name) else {
            throw InputError(file: URL(fileURLWithPath: resume).appendingPathComponent("checkpoint.json").path, field: "backend",
                             "unknown backend \(name); give --backend")
        }
        return choice
    }

    func train<B: Backend>(_ backend: B, _ experiment: Experiment, _ variant: Variant, _ dir: URL, _ stop: StopFlag,
                           configPath: String, startRun: () throws -> RunLock?) throws {
        var trainingData: TrainingData? = nil
        if data == .images {
            if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
            let images = try ImageDataset.load(directory: dataDir ?? ImageDataset.debianFashionMNIST, limit: limit)
            guard experiment.model.sizes.first == images.train.inputs.columns, experiment.model.sizes.last == 10 else {
                throw InputError(file: configPath, field: "network.sizes", "image data needs \(images.train.inputs.columns) inputs and 10 outputs")
            }
            trainingData = .images(images)
        }
        let trainer = try HILTrainer(backend: backend, configuration: experiment.model, training: experiment.training,
                                     variant: variant, directory: dir, resume: resume != nil, data: trainingData)
        let newRunLock = try startRun()
        defer { withExtendedLifetime(newRunLock) {} }
        let t = experiment.training
        let line = ProgressLine()
        var samplesAtStart = trainer.state.samplesSeen
        trainer.shouldStop = { stop.requested }
        var forwardStarted: Date?
        trainer.feedbackProgress = { label, done, total in
            let text = String(format: "%@ %5d/%d samples", label, done, total)
            if done == total { line.finish(text) } else { line.show(text) }
        }
        trainer.progress = { epoch, done, total, loss in
            // The rate counts forward training only: pre-training before it would skew the ETA.
            let since = forwardStarted ?? Date()
            if forwardStarted == nil {
                forwardStarted = since
                samplesAtStart = trainer.state.samplesSeen
            }
            let elapsed = Date().timeIntervalSince(since)
            let rate = Double(trainer.state.samplesSeen - samplesAtStart) / max(elapsed, 1e-9)
            let remaining = Double((t.epochs - epoch) * total + (total - done)) / max(rate, 1e-9)
            let text = String(format: "epoch %d/%d %5d/%d samples  batch loss %.4g  %.1f samples/s  ETA %@",
                              epoch, t.epochs, done, total, loss, rate, rate > 0 ? Self.duration(remaining) : "…")
            line.show(text, fraction: Double(done) / Double(max(total, 1)))
        }
        func writeLearningCurve() throws {
            try Self.learningCurve(trainer.state.metrics, title: "\(experiment.model.name): \(trainer.backend.name), \(variant.rawValue)")
                .write(to: dir.appendingPathComponent("learning-curve.svg"))
        }
        trainer.epochFinished = { m in
            line.finish()
            print(String(format: "epoch %d: train loss %.5g, test loss %.5g%@%@, converged %d, not converged %d, diverged %d, skipped %d (retried %d), %.1f samples/s",
                         m.epoch, m.trainLoss, m.testLoss, m.testError.map { String(format: ", test error %.2f %%", 100 * $0) } ?? "",
                         m.validationError.map { String(format: ", validation error %.2f %%", 100 * $0) } ?? "",
                         m.converged, m.notConverged, m.diverged, m.skipped, m.retried, m.samplesPerSecond))
            try? writeLearningCurve()
        }
        // The header says what this run is, fresh or resumed; a fresh run learns its initial
        // test loss in its first evaluation, printed as epoch 0 is recorded.
        let d = trainer.data
        let validation = d.validationX.rows > 0 ? " / \(d.validationX.rows) validation" : ""
        let initial = trainer.state.metrics.first.map { String(format: "; initial test loss %.5g", $0.testLoss) } ?? ""
        print(String(format: "%@ %@ on %@: %d train / %d test%@ samples, batch %d, %@ lr %.3g, seed %llu%@%@",
                     trainer.backend.name, variant.rawValue, experiment.model.name, d.trainX.rows, d.testX.rows, validation, t.batchSize,
                     t.optimizer.rawValue, t.learningRate, experiment.model.seed,
                     resume != nil ? ", resumed at epoch \(trainer.state.epoch + 1) sample \(trainer.state.position)" : "", initial))
        // Epoch times depend on the kernels OpenBLAS runs (see `BLASCore`): the log says which.
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, OpenBLAS core \(BLASCore.current)")
        if let note = trainer.machineChangeNote { print(note) }
        if let note = Self.irDropNote(experiment, backend: trainer.backend.name, batchesPerPass: (d.trainX.rows + t.batchSize - 1) / t.batchSize) {
            print(note)
        }
        let outcome = try trainer.run()
        // Also when the run stopped before an epoch ended (no epochFinished call wrote it).
        if !trainer.state.metrics.isEmpty { try writeLearningCurve() }
        switch outcome {
        case .finished:
            let last = trainer.state.metrics.last
            print(String(format: "done: test loss %.5g → %.5g after %d epochs; %@", trainer.state.metrics.first?.testLoss ?? 0,
                         last?.testLoss ?? 0, trainer.state.epoch, dir.path))
        case .interrupted:
            if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            print("stopped at epoch \(trainer.state.epoch + 1), sample \(trainer.state.position); resume with --resume \(dir.path)")
            // 128 + SIGINT, the shell's convention: a script can tell a stopped run from a finished one.
            throw ExitCode(130)
        }
    }

    /// Refuses a run whose network, optimizer and data (`ConfigurationLoader.trainingBytes`)
    /// would not fit in memory, before anything is allocated or created.
    static func requireMemory(for experiment: Experiment, data: DataChoice, configPath: String) throws {
        let t = experiment.training
        let samples = data == .images ? 70_000 : MemoryBudget.sum([t.trainSamples, t.testSamples])
        let field = data == .images ? "network.sizes" : "training.trainSamples"
        do {
            try MemoryBudget.require(samples.flatMap { ConfigurationLoader.trainingBytes(experiment.model, t, samples: $0) },
                                     for: "training (network, optimizer and data)")
        } catch let e as LinearAlgebraError {
            throw InputError(file: configPath, field: field, e.description)
        }
    }

    /// A new run's directory must be new or empty: one that holds a run is refused with the
    /// resume command, anything else so that nothing in it is overwritten.
    static func checkNewRunDirectory(_ dir: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw InputError(file: dir.path, "exists and is not a directory") }
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoint.json").path) {
            throw InputError(file: dir.path, "already holds a run; use --resume \(dir.path) to continue it, or a new directory")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        if let first = entries.sorted().first {
            throw InputError(file: dir.path, "is not empty (it holds \(first)\(entries.count > 1 ? " and \(entries.count - 1) more" : "")) and is not a run; give a new or empty directory")
        }
    }

    /// Creates (or takes the empty) run directory, holds it, and copies the config into it.
    /// Checked again under the lock: another process may have started a run there meanwhile.
    static func createRunDirectory(_ dir: URL, config: String) throws -> RunLock {
        let existed = FileManager.default.fileExists(atPath: dir.path)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: dir.path, "cannot create the run directory: \(error.localizedDescription)")
        }
        do {
            let lock = try RunLock(directory: dir)
            let others = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0 != RunLock.fileName }
            guard others.isEmpty else { throw InputError(file: dir.path, "another process started a run here meanwhile") }
            if let text = FileManager.default.contents(atPath: config) {
                try AtomicFile.write(text, to: dir.appendingPathComponent("config.yaml"))
            }
            return lock
        } catch {
            // Remove only what this process made and nobody else has used.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if !existed && left.allSatisfy({ $0 == RunLock.fileName }) { try? FileManager.default.removeItem(at: dir) }
            throw error
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }

    static func learningCurve(_ metrics: [EpochMetrics], title: String) throws -> Data {
        var plot = LinePlot(title: "Learning curve: \(title)", xLabel: "epoch", yLabel: "mean loss per sample (log)")
        plot.logY = true
        plot.logFloor = 1e-12
        plot.series = [
            .init(label: "test", x: metrics.map { Double($0.epoch) }, y: metrics.map(\.testLoss), color: 0),
            .init(label: "train", x: metrics.map { Double($0.epoch) }, y: metrics.map(\.trainLoss), color: 1, dashed: true),
        ]
        return Data(plot.svg().utf8)
    }

    /// What the wires cost a behavioral run, when they are on: whether the IR-drop map is
    /// solved at every reprogramming (a note to follow it when the arrays are large) or every N.
    static func irDropNote(_ e: Experiment, backend: String, batchesPerPass: Int) -> String? {
        let wire = e.circuit.wire
        guard backend == "behavioral", wire.isResistive else { return nil }
        guard !wire.followsMapBetweenSolves else {
            return "IR drop: the exact map every \(wire.exactMapEvery) reprogrammings (cycles 0, \(wire.exactMapEvery), …), followed cell by cell in between"
        }
        let sizes = e.model.sizes
        let cells = zip(sizes, sizes.dropFirst()).map { ($0 + 1) * $1 }.max() ?? 0
        guard cells >= 50_000 else { return nil }
        return "note: circuit.wire.exactMapEvery is 1: every reprogramming solves the exact IR-drop map of arrays up to \(cells) cells, slow at this size; exactMapEvery: \(batchesPerPass) solves it once per pass and follows it in between (docs/behavioral-model.md)"
    }
}
