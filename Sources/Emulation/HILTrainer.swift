import DFC
import Foundation
import LinearAlgebra
import NumPyFormat
import Training

/// What one epoch of training achieved.
public struct EpochMetrics: Sendable, Codable, Equatable {
    public var epoch: Int
    public var samples: Int
    /// Mean per-sample loss of the backend's effective network on the training and test sets.
    public var trainLoss: Double
    public var testLoss: Double
    public var converged: Int
    public var notConverged: Int
    public var diverged: Int
    public var skipped: Int
    public var retried: Int
    public var seconds: Double
    public var samplesPerSecond: Double
    /// Fraction of misclassified test samples (classification data only).
    public var testError: Double? = nil
    /// Mean loss and misclassified fraction on the validation split, where the data has
    /// one (Fashion-MNIST's last 5 000 training images): the DFC paper's Table 1 reports the
    /// test error of the epoch with the best validation result.
    public var validationLoss: Double? = nil
    public var validationError: Double? = nil
    /// The DFC paper's measures of the effective weights at the end of the epoch, from the
    /// ideal model on the first 16 test samples (angles of the `dfc` update to BP/GN/MN/SSA,
    /// Conditions 1–3, closed-loop stability).
    public var diagnostics: Diagnostics? = nil
    /// Wall seconds by phase: `update` (the backend's plasticity), `optimizer`,
    /// `feedback` (Q's updates and passes), `reprogram`, `checkpoint`, `evaluation`
    /// (losses, test error, diagnostics at the epoch's end) and, in epoch 1, `pretrain`.
    /// `seconds` is the training work: everything but `evaluation` and `pretrain`.
    public var phases: [String: Double]? = nil

    /// Adds `seconds` to `phases[name]`.
    mutating func add(_ seconds: Double, to name: String) {
        phases = phases ?? [:]
        phases?[name, default: 0] += seconds
    }
}

/// Hardware-in-the-loop training on any `Backend` (DESIGN.md §4): per mini-batch the
/// backend runs every sample (feedforward phase, target, controlled run) and returns the
/// summed plasticity; the host takes the optimizer step and reprograms the backend's
/// devices with the new weights. Checkpoints are written atomically; a resumed run
/// continues bit for bit where the checkpoint was taken.
public final class HILTrainer<B: Backend> {
    public var backend: B
    public let configuration: Configuration
    public let training: TrainingParameters
    public let variant: Variant
    public let directory: URL
    public private(set) var state: TrainingCheckpoint
    /// The sets being trained on (their rows, not the config's sample counts, are what runs).
    public let data: TrainingData
    /// The training set's feedforward potentials, kept while only Q changes (`feedbackPass`).
    var feedforwardStore: FeedforwardStore?
    /// How many times `feedforwardStore` was built (tests check it follows W's changes).
    private(set) var feedforwardStoreBuilds = 0
    /// Set on a resume whose checkpoint was written under other kernels or core count than
    /// this process runs: one line for the log (the run goes on, exact to rounding only).
    public private(set) var machineChangeNote: String?

    public enum Outcome: Sendable { case finished, interrupted }

    /// Called after every batch: (epoch, samples done in the epoch, epoch size, the batch's mean loss).
    public var progress: ((Int, Int, Int, Double) -> Void)?
    /// Called after every batch of a feedback-only pass: (label such as "feedback
    /// pre-training 3/10", samples done in the pass, pass size).
    public var feedbackProgress: ((String, Int, Int) -> Void)?
    /// Checked after every batch; when it returns true the trainer checkpoints and stops.
    public var shouldStop: () -> Bool = { false }
    /// Called after every epoch.
    public var epochFinished: ((EpochMetrics) -> Void)?

    public init(backend: B, configuration: Configuration, training: TrainingParameters, variant: Variant,
                directory: URL, resume: Bool, data: TrainingData? = nil) throws {
        self.configuration = configuration
        self.training = training
        self.variant = variant
        self.directory = directory
        self.data = try data ?? TrainingData.studentTeacher(configuration: configuration, training: training)
        let checkpoint = directory.appendingPathComponent("checkpoint.json")
        // Temporary files of a write that a kill interrupted: the files they were meant
        // to replace are still whole, so the leftovers just go.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        let fingerprint = self.data.fingerprint
        if resume {
            let saved = try TrainingCheckpoint.read(from: directory)
            guard saved.backend == backend.name, saved.variant == variant.rawValue, saved.seed == configuration.seed else {
                throw ModelError("\(checkpoint.path): the checkpoint is of backend \(saved.backend), variant \(saved.variant), seed \(saved.seed); this run asks for \(backend.name), \(variant.rawValue), seed \(configuration.seed)")
            }
            if let recorded = saved.dataFingerprint, recorded != fingerprint {
                throw ModelError("\(checkpoint.path): the run trained on other data (\(saved.dataSizes ?? "?"), fingerprint \(recorded)) than this resume gives (\(self.data.sizes), fingerprint \(fingerprint)); give the --data, --data-dir and --limit the run started with")
            }
            let here = BLASCore.machineSignature
            if let there = saved.machine, there != here {
                machineChangeNote = "note: the checkpoint was written under \(there), this process runs \(here): the resumed run agrees with an unbroken one to rounding, not to the bit"
            }
            var net = backend.network
            net.forwardTensors = saved.forward
            net.feedbackTensors = saved.feedback
            do {
                self.backend = try backend.resumed(with: net, cycle: saved.cycle, state: saved.device?.tensors ?? [:])
            } catch let error as ModelError {
                throw ModelError("\(checkpoint.path): \(error.message)")
            }
            state = saved
        } else {
            self.backend = backend
            let empty = EpochMetrics(epoch: 0, samples: 0, trainLoss: 0, testLoss: 0, converged: 0, notConverged: 0,
                                     diverged: 0, skipped: 0, retried: 0, seconds: 0, samplesPerSecond: 0)
            state = TrainingCheckpoint(seed: configuration.seed, backend: backend.name, variant: variant.rawValue, epoch: 0,
                                       position: 0, samplesSeen: 0, cycle: 0, forward: backend.network.forwardTensors,
                                       feedback: backend.network.feedbackTensors, optimizer: training.optimizer(),
                                       feedbackOptimizer: training.freshFeedbackOptimizer,
                                       metrics: [], pending: empty)
        }
        // A new run, or a checkpoint from before fingerprints: from now on the run is held to this data.
        if state.dataFingerprint == nil {
            state.dataFingerprint = fingerprint
            state.dataSizes = self.data.sizes
        }
    }

    /// Mean per-sample loss of the backend's effective network.
    func loss(_ x: Matrix, _ y: Matrix) -> Double {
        backend.evaluate(inputs: x, labels: y, loss: configuration.loss).meanLoss
    }

    /// Mean loss and, for classification data, the misclassified fraction of one split, in one pass.
    func metrics(_ x: Matrix, _ y: Matrix) -> (loss: Double, error: Double?) {
        let e = backend.evaluate(inputs: x, labels: y, loss: configuration.loss)
        return (e.meanLoss, data.classification ? e.errorRate : nil)
    }

    /// Diagnostics of the run's own variant with the effective weights on a fixed probe
    /// batch (nil if they cannot be computed).
    func probeDiagnostics() -> Diagnostics? {
        let n = min(configuration.diagnosticSamples, data.testX.rows)
        guard n > 0, let solver = try? Solver(network: backend.effectiveNetwork, configuration: configuration) else { return nil }
        let x = data.testX.rows(0..<n), y = data.testY.rows(0..<n)
        var g = SeededGenerator(seed: configuration.seed).derived(0xD1A6)
        guard let s = try? solver.solve(input: x, labels: y, variant: variant, traceStride: 0, generator: &g) else { return nil }
        return try? solver.diagnostics(for: s, input: x, labels: y)
    }

    /// The order of the training set in `epoch`: a permutation drawn from the seed and the epoch alone.
    func order(epoch: Int) -> [Int] {
        var g = SeededGenerator(seed: configuration.seed).derived(0xDA7A).derived(UInt64(epoch))
        var order = Array(0..<data.trainX.rows)
        for k in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(g.next() % UInt64(k + 1))
            order.swapAt(k, j)
        }
        return order
    }

    /// Trains until `training.epochs` are done or `shouldStop` says so.
    public func run() throws -> Outcome {
        let n = data.trainX.rows
        if state.metrics.isEmpty {
            // Epoch 0: the untrained network, so curves start where training starts.
            state.metrics.append(EpochMetrics(epoch: 0, samples: 0, trainLoss: loss(data.trainX, data.trainY),
                                              testLoss: loss(data.testX, data.testY), converged: 0, notConverged: 0, diverged: 0,
                                              skipped: 0, retried: 0, seconds: 0, samplesPerSecond: 0, diagnostics: probeDiagnostics()))
            try save()
        }
        var lastCheckpoint = state.samplesSeen
        let learnsFeedback = variant.learnsFeedback
        while learnsFeedback && state.pretrainDone < training.feedbackPretrainEpochs {
            if shouldStop() { try save(); return .interrupted }
            let finished = try timed("pretrain") {
                try feedbackPass(rate: training.feedbackPretrainRate > 0 ? training.feedbackPretrainRate : training.feedbackLearningRate,
                                 pass: 1_000_000 + state.pretrainDone,
                                 label: "feedback pre-training \(state.pretrainDone + 1)/\(training.feedbackPretrainEpochs)")
            }
            guard finished else { try save(); return .interrupted }
            state.pretrainDone += 1
            if training.separateFeedbackOptimizers && state.pretrainDone == training.feedbackPretrainEpochs {
                // Saved with the pass that ends pre-training, so a resume never resets twice.
                state.feedbackOptimizer = training.freshFeedbackOptimizer
            }
            try save()
        }
        while state.epoch < training.epochs {
            if learnsFeedback && training.feedbackPassFirst && state.position == 0 && state.feedbackFirstDone != true {
                if shouldStop() { try save(); return .interrupted }
                let finished = try timed("feedback", countsAsTraining: true) {
                    try feedbackPass(rate: training.feedbackLearningRate, pass: state.epoch * 1000 + 999,
                                     label: "epoch \(state.epoch + 1): feedback pass before the forward pass")
                }
                guard finished else { try save(); return .interrupted }
                state.feedbackFirstDone = true
                try save()
            }
            let order = order(epoch: state.epoch)
            var started = Date()
            var secondsBefore = state.pending.seconds
            while state.position < n {
                let indices = Array(order[state.position..<min(n, state.position + training.batchSize)])
                let x = data.trainX.rows(at: indices)
                let y = data.trainY.rows(at: indices)
                let update = try timed("update") { try backend.update(inputs: x, labels: y, variant: variant) }
                var net = backend.network
                var tensors = net.forwardTensors
                let forwardScale = configuration.conventions.forwardScale(variant, batch: indices.count,
                                                                          lambda: configuration.control.lambda)
                let finite = timed("optimizer") {
                    state.optimizer.step(&tensors, directions: (0..<net.depth).flatMap { [update.dW[$0].storage, update.db[$0]] },
                                         scale: forwardScale)
                }
                guard finite else {
                    throw ModelError("training diverged at epoch \(state.epoch + 1), sample \(state.position): the update made the weights non-finite (lower training.learningRate, or stabilise Q); the last checkpoint is intact")
                }
                net.forwardTensors = tensors
                if variant.learnsFeedback && training.feedbackLearningRate > 0 && training.extraFeedbackEpochs == 0 && !training.feedbackPassFirst {
                    // The feedback phase runs on the backend (in SPICE: the circuit) with the weights of this batch.
                    let seed = SeededGenerator(seed: configuration.seed).derived(0xFEED).derived(state.cycle).state.0
                    let backendNow = backend
                    let q = try timed("feedback") {
                        var q = net.feedbackTensors
                        guard stepFeedback(&q, try backendNow.feedbackUpdate(inputs: x, variant: variant, noiseSeed: seed), batch: x.rows) else {
                            throw ModelError("feedback learning diverged at epoch \(state.epoch + 1), sample \(state.position): Q became non-finite (lower training.feedbackLearningRate); the last checkpoint is intact")
                        }
                        return q
                    }
                    net.feedbackTensors = q
                }
                state.cycle += 1
                let previous = backend, cycle = state.cycle
                backend = try timed("reprogram") { try previous.reprogrammed(with: net, cycle: cycle) }
                state.forward = net.forwardTensors
                state.feedback = net.feedbackTensors
                state.position += indices.count
                state.samplesSeen += indices.count
                state.pending.samples += indices.count
                state.pending.converged += update.converged
                state.pending.notConverged += update.notConverged
                state.pending.diverged += update.diverged
                state.pending.skipped += update.skipped
                state.pending.retried += update.retried
                state.pending.seconds = secondsBefore + Date().timeIntervalSince(started)
                progress?(state.epoch + 1, state.position, n, update.loss.map { $0 / Double(indices.count) } ?? loss(x, y))
                // The epoch's end saves anyway: no second checkpoint just before it.
                if state.samplesSeen - lastCheckpoint >= training.checkpointEvery && state.position < n {
                    try timed("checkpoint") { try save() }
                    lastCheckpoint = state.samplesSeen
                }
                if shouldStop() {
                    try save()
                    return .interrupted
                }
            }
            while learnsFeedback && state.extraFeedbackDone < training.extraFeedbackEpochs {
                if shouldStop() { try save(); return .interrupted }
                let finished = try timed("feedback", countsAsTraining: true) {
                    try feedbackPass(rate: training.feedbackLearningRate, pass: state.epoch * 1000 + state.extraFeedbackDone,
                                     label: "epoch \(state.epoch + 1): feedback pass \(state.extraFeedbackDone + 1)/\(training.extraFeedbackEpochs)")
                }
                guard finished else { try save(); return .interrupted }
                state.extraFeedbackDone += 1
                try save()
            }
            state.extraFeedbackDone = 0
            state.feedbackFirstDone = nil
            let test = timed("evaluation") { () -> (Double, (loss: Double, error: Double?), (loss: Double, error: Double?)?, Diagnostics?) in
                let validation = data.validationX.rows > 0 ? metrics(data.validationX, data.validationY) : nil
                return (loss(data.trainX, data.trainY), metrics(data.testX, data.testY), validation, probeDiagnostics())
            }
            var m = state.pending
            m.epoch = state.epoch + 1
            m.trainLoss = test.0
            m.testLoss = test.1.loss
            m.testError = test.1.error
            m.validationLoss = test.2?.loss
            m.validationError = test.2?.error
            m.diagnostics = test.3
            m.samplesPerSecond = m.seconds > 0 ? Double(m.samples) / m.seconds : 0
            state.metrics.append(m)
            state.epoch += 1
            state.position = 0
            state.pending = EpochMetrics(epoch: state.epoch + 1, samples: 0, trainLoss: 0, testLoss: 0, converged: 0, notConverged: 0,
                                         diverged: 0, skipped: 0, retried: 0, seconds: 0, samplesPerSecond: 0)
            try save()
            lastCheckpoint = state.samplesSeen
            epochFinished?(m)
            guard m.trainLoss.isFinite, m.testLoss.isFinite else {
                throw ModelError("training diverged in epoch \(m.epoch): the loss is \(m.trainLoss.isFinite ? m.testLoss : m.trainLoss) (lower training.learningRate); metrics and checkpoint up to this epoch are saved")
            }
            started = Date()
            secondsBefore = 0
        }
        return .finished
    }

    /// Runs `body`, adding its wall time to the pending epoch's `phases[name]` (and to its
    /// `seconds` when it `countsAsTraining`) afterwards — not during: `body` may itself
    /// change the state.
    func timed<T>(_ name: String, countsAsTraining: Bool = false, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        state.pending.add(seconds, to: name)
        if countsAsTraining { state.pending.seconds += seconds }
        return result
    }

    /// One feedback optimizer step on Q from the backend's ΔQ of a `batch`-sample batch (scaled
    /// by `conventions.feedbackScale`: 1/batch unless `updateScale: sum`). With `network.outputFeedback:
    /// identity` Q_L gets a zero direction, so it stays I and its optimizer moments stay zero.
    /// Returns whether every new value of Q is finite.
    func stepFeedback(_ q: inout [[Double]], _ dQ: [Matrix], batch: Int) -> Bool {
        var directions = dQ.map(\.storage)
        if configuration.outputFeedback == .identity, let last = directions.indices.last {
            directions[last] = [Double](repeating: 0, count: directions[last].count)
        }
        return state.feedbackOptimizer.step(&q, directions: directions,
                                     scale: configuration.conventions.feedbackScale(batch: batch))
    }

    /// One feedback-only pass over the training set in mini-batches (Eq. 13 on the backend),
    /// its own optimizer state, in an order drawn from the pass number. It starts where a
    /// checkpoint left it (`feedbackPassPosition`) and returns false when `shouldStop` ends it
    /// after a batch, with the position recorded: a resume finishes the same pass exactly.
    func feedbackPass(rate: Double, pass: Int, label: String) throws -> Bool {
        guard rate > 0 else { return true }
        let n = data.trainX.rows
        let order = order(epoch: 10_000_000 + pass)
        state.feedbackOptimizer.learningRate = rate
        let store = currentFeedforwardStore()
        var position = state.feedbackPassPosition ?? 0
        while position < n {
            let indices = Array(order[position..<min(n, position + training.batchSize)])
            let x = data.trainX.rows(at: indices)
            let seed = SeededGenerator(seed: configuration.seed).derived(0xFEED).derived(UInt64(pass)).derived(UInt64(position)).state.0
            let dQ = try store.map { try backend.feedbackUpdate(inputs: x, feedforward: $0.state(rows: indices, inputs: x), variant: variant, noiseSeed: seed) }
                ?? backend.feedbackUpdate(inputs: x, variant: variant, noiseSeed: seed)
            var net = backend.network
            var q = net.feedbackTensors
            guard stepFeedback(&q, dQ, batch: x.rows) else {
                throw ModelError("feedback learning diverged (pass \(pass)): Q became non-finite; lower training.feedbackLearningRate or training.feedbackPretrainRate")
            }
            net.feedbackTensors = q
            state.cycle += 1
            backend = try backend.reprogrammed(with: net, cycle: state.cycle)
            state.feedback = net.feedbackTensors
            position += indices.count
            state.feedbackPassPosition = position < n ? position : nil
            feedbackProgress?(label, position, n)
            if position < n && shouldStop() { return false }
        }
        return true
    }

    /// The training set's feedforward potentials under the backend's present W and b, rebuilt
    /// only when those changed since the last feedback pass; nil when the backend's feedback
    /// phase cannot start from them.
    func currentFeedforwardStore() -> FeedforwardStore? {
        guard backend.feedbackStartsFromForward else { return nil }
        let network = backend.effectiveNetwork
        guard FeedforwardStore.fits(rows: data.trainX.rows, network: network,
                                    memory: ProcessInfo.processInfo.physicalMemory) else { return nil }
        if let store = feedforwardStore, store.matches(network) { return store }
        feedforwardStore = nil   // the old one goes before the new one is built
        feedforwardStore = FeedforwardStore(network: network, inputs: data.trainX)
        feedforwardStoreBuilds += 1
        return feedforwardStore
    }

    /// Writes checkpoint.json, model.npz and metrics.jsonl, each atomically.
    public func save() throws {
        let encoder = TrainingCheckpoint.encoder
        state.machine = BLASCore.machineSignature
        let device = backend.checkpointState
        state.device = device.isEmpty ? nil : DeviceTensors(device)
        try state.write(to: directory, encoder: encoder)
        var npz = NPZ(ModelFile.arrays(of: backend.network))
        npz["seed"] = NDArray(integer: Int64(clamping: configuration.seed))
        try npz.write(to: directory.appendingPathComponent("model.npz"))
        let lines = try state.metrics.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: directory.appendingPathComponent("metrics.jsonl"))
    }
}
