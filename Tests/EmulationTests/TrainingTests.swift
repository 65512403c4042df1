import Circuit
import DFC
@testable import Emulation
import Foundation
import LinearAlgebra
import Spice
import Testing
import Training

func smallTask() -> (Configuration, TrainingParameters) {
    var c = Configuration()
    c.name = "st-small"
    c.seed = 11
    c.sizes = [4, 3, 2]
    c.activations = [.tanh, .linear]
    c.feedbackInit = .weightProduct
    c.control.dt = 0.01
    c.control.steps = 200
    var t = TrainingParameters()
    t.learningRate = 0.3
    t.batchSize = 8
    t.epochs = 3
    t.trainSamples = 40
    t.testSamples = 16
    t.checkpointEvery = 16
    return (c, t)
}

/// `smallTask` with a random Q that learns: one extra feedback pass per epoch.
func feedbackTask() -> (Configuration, TrainingParameters) {
    var (c, t) = smallTask()
    c.feedbackInit = .xavierNormal
    c.feedback.sigma = 0.1
    c.feedback.steps = 50
    t.feedbackLearningRate = 0.005
    t.extraFeedbackEpochs = 1
    t.learningRate = 0.05        // random Q: a gentle forward rate keeps the dynamics stable
    return (c, t)
}

func scratch() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("Hardware-in-the-loop training", .serialized)
struct TrainingLoopTests {
    /// Trains `epochs` epochs in `dir` (resuming when asked), stopping after `stopAfter` batches if given.
    func train<B: Backend>(_ backend: B, _ c: Configuration, _ t: TrainingParameters, epochs: Int, dir: URL,
                           resume: Bool, stopAfter: Int? = nil) throws -> HILTrainer<B> {
        var t = t
        t.epochs = epochs
        let trainer = try HILTrainer(backend: backend, configuration: c, training: t, variant: .dfc, directory: dir, resume: resume)
        var batches = 0
        trainer.progress = { _, _, _, _ in batches += 1 }
        trainer.shouldStop = { stopAfter.map { batches >= $0 } ?? false }
        _ = try trainer.run()
        return trainer
    }

    func backends(_ c: Configuration) throws -> [(String, any Backend)] {
        var noisy = CircuitParameters()
        noisy.device.levels = 64
        noisy.device.programmingNoise = 0.02
        noisy.device.stuckOffFraction = 0.02
        let net = try Network.initialized(c, seed: c.seed)
        return [("ideal", try IdealBackend(network: net, configuration: c)),
                ("behavioral", try BehavioralBackend(network: net, configuration: c, circuit: noisy))]
    }

    @Test("k epochs straight and (k−1) + resume, or an interruption mid-epoch + resume, give identical weights")
    func resumeIsExact() throws {
        let (c, t) = smallTask()
        for (name, backend) in try backends(c) {
            func straight<B: Backend>(_ b: B) throws -> [[Double]] {
                let dir = try scratch()
                defer { try? FileManager.default.removeItem(at: dir) }
                return try train(b, c, t, epochs: 3, dir: dir, resume: false).state.forward
            }
            func split<B: Backend>(_ b: B) throws -> ([[Double]], [[Double]]) {
                let dir = try scratch(), dir2 = try scratch()
                defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: dir2) }
                _ = try train(b, c, t, epochs: 2, dir: dir, resume: false)
                let resumed = try train(b, c, t, epochs: 3, dir: dir, resume: true).state.forward
                _ = try train(b, c, t, epochs: 3, dir: dir2, resume: false, stopAfter: 7)     // mid-epoch 2
                let interrupted = try train(b, c, t, epochs: 3, dir: dir2, resume: true).state.forward
                return (resumed, interrupted)
            }
            func check<B: Backend>(_ b: B) throws {
                let reference = try straight(b)
                let (resumed, interrupted) = try split(b)
                #expect(resumed == reference, "\(name): epochs 2 + resume differ from 3 straight")
                #expect(interrupted == reference, "\(name): interrupted + resume differ from straight")
                #expect(reference != (try Network.initialized(c, seed: c.seed)).forwardTensors, "\(name): nothing was learned")
            }
            try check(backend)
        }
    }

    @Test("feedback pre-training and extra feedback passes change Q and resume exactly")
    func feedbackPassesResume() throws {
        let (c, base) = feedbackTask()
        var t = base
        t.feedbackPretrainEpochs = 1
        t.feedbackPretrainRate = 0.01
        let net = try Network.initialized(c, seed: c.seed)
        let backend = try IdealBackend(network: net, configuration: c)
        let dirA = try scratch(), dirB = try scratch()
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        let straight = try train(backend, c, t, epochs: 2, dir: dirA, resume: false).state
        _ = try train(backend, c, t, epochs: 2, dir: dirB, resume: false, stopAfter: 6)
        let resumed = try train(backend, c, t, epochs: 2, dir: dirB, resume: true).state
        #expect(straight.feedback != net.feedbackTensors, "Q did not learn")
        #expect(straight.feedback.allSatisfy { $0.allSatisfy(\.isFinite) } && straight.forward.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(resumed.feedback == straight.feedback && resumed.forward == straight.forward)
    }

    @Test("a resume on other data is refused, naming both, and leaves the run as it was; the same data resumes")
    func resumeOnOtherDataIsRefused() throws {
        let (c, t) = smallTask()
        let backend = try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c)
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try train(backend, c, t, epochs: 2, dir: dir, resume: false, stopAfter: 3)
        let data = try TrainingData.studentTeacher(configuration: c, training: t)
        var nudged = data
        nudged.trainX[0, 0] = nudged.trainX[0, 0].nextUp
        var fewer = t
        fewer.trainSamples = 32
        let checkpoint = dir.appendingPathComponent("checkpoint.json")
        let before = try Data(contentsOf: checkpoint)
        for other in [nudged, try TrainingData.studentTeacher(configuration: c, training: fewer)] {
            #expect(other.fingerprint != data.fingerprint)
            do {
                _ = try HILTrainer(backend: backend, configuration: c, training: t, variant: .dfc, directory: dir, resume: true, data: other)
                Issue.record("a resume on other data was accepted")
            } catch let e as ModelError {
                #expect(e.message.contains("other data") && e.message.contains(data.fingerprint) && e.message.contains(other.fingerprint))
                #expect(e.message.contains("\(other.trainX.rows) train"))
            }
        }
        #expect(try Data(contentsOf: checkpoint) == before)
        #expect(data.fingerprint == (try TrainingData.studentTeacher(configuration: c, training: t)).fingerprint)
        let resumed = try HILTrainer(backend: backend, configuration: c, training: t, variant: .dfc, directory: dir, resume: true, data: data)
        #expect(resumed.state.samplesSeen == 24 && resumed.state.dataFingerprint == data.fingerprint)
    }

    @Test("feedback passes from the stored feedforward state give the Q of a forward pass per batch, and the store is rebuilt only when W changes")
    func storedFeedforwardIsExact() throws {
        var (c, t) = feedbackTask()
        t.feedbackPretrainEpochs = 2
        t.feedbackPretrainRate = 0.01
        t.extraFeedbackEpochs = 2
        let net = try Network.initialized(c, seed: c.seed)
        func run(usesStore: Bool) throws -> (TrainingCheckpoint, StoreCalls, builds: Int) {
            let dir = try scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            let backend = StoreCountingBackend(ideal: try IdealBackend(network: net, configuration: c), usesStore: usesStore)
            let trainer = try train(backend, c, t, epochs: 2, dir: dir, resume: false)
            return (trainer.state, backend.calls, trainer.feedforwardStoreBuilds)
        }
        let (stored, calls, builds) = try run(usesStore: true)
        let (recomputed, plain, noBuilds) = try run(usesStore: false)
        #expect(stored.feedback == recomputed.feedback && stored.forward == recomputed.forward)
        #expect(stored.feedback != net.feedbackTensors, "Q did not learn")
        // 2 pre-training passes + 2 extra per epoch, 5 batches of 8 from 40 samples each.
        #expect(calls.fromStore == 30 && calls.recomputed == 0, "\(calls.fromStore) stored, \(calls.recomputed) recomputed")
        #expect(plain.fromStore == 0 && plain.recomputed == 30)
        // W is fixed across pre-training, then changes in each forward epoch: three builds.
        #expect(builds == 3 && noBuilds == 0, "\(builds) builds")
    }

    @Test("Q_L = I stays exactly I while Q_1 learns; one leading feedback pass per epoch, not redone on resume")
    func frozenOutputFeedbackAndLeadingPass() throws {
        let (c, base) = feedbackTask()
        var t = base
        t.feedbackPassFirst = true
        func run(_ c: Configuration, dir: URL, resume: Bool, stopAfter: Int? = nil) throws -> (TrainingCheckpoint, [String]) {
            var t = t
            t.epochs = 2
            let net = try Network.initialized(c, seed: c.seed)
            let trainer = try HILTrainer(backend: try IdealBackend(network: net, configuration: c), configuration: c,
                                         training: t, variant: .dfc, directory: dir, resume: resume)
            var batches = 0, passes: [String] = []
            trainer.progress = { _, _, _, _ in batches += 1 }
            trainer.feedbackProgress = { label, done, total in if done == total { passes.append(label) } }
            trainer.shouldStop = { stopAfter.map { batches >= $0 } ?? false }
            _ = try trainer.run()
            return (trainer.state, passes)
        }
        var frozen = c
        frozen.outputFeedback = .identity
        let start = try Network.initialized(frozen, seed: c.seed)
        #expect(start.feedback[1] == .identity(2))
        #expect(start.feedback[0] == (try Network.initialized(c, seed: c.seed)).feedback[0], "Q_1 must not depend on Q_L's choice")
        let dirA = try scratch(), dirB = try scratch(), dirC = try scratch()
        defer { for d in [dirA, dirB, dirC] { try? FileManager.default.removeItem(at: d) } }
        let (straight, passes) = try run(frozen, dir: dirA, resume: false)
        #expect(straight.feedback[1] == Matrix.identity(2).storage, "Q_L moved")
        #expect(straight.feedback[0] != start.feedback[0].storage, "Q_1 did not learn")
        #expect(passes.filter { $0.contains("before the forward pass") }.count == 2, "\(passes)")
        #expect(passes.count == 4, "an epoch is one leading + one extra pass: \(passes)")
        // Batch 6 is in epoch 2, after its leading pass: a resume must not run that pass again.
        _ = try run(frozen, dir: dirB, resume: false, stopAfter: 6)
        let (resumed, after) = try run(frozen, dir: dirB, resume: true)
        #expect(resumed.feedback == straight.feedback && resumed.forward == straight.forward)
        #expect(!after.contains { $0.contains("before the forward pass") }, "\(after)")
        // With Q_L learned, the same run moves it: the check above can fail.
        let (learned, _) = try run(c, dir: dirC, resume: false)
        #expect(learned.feedback[1] != (try Network.initialized(c, seed: c.seed)).feedback[1].storage)
    }

    @Test("updateScale publishedMean hands the optimizer (2/B)·ΔW and (1/B)·ΔQ, the published code's gradient scale; (2λ/B)·ΔW for ddtp-linear",
          arguments: [Variant.dfc, .ddtpLinear])
    func publishedMeanScalesUpdates(variant: Variant) throws {
        var (c0, base) = feedbackTask()
        c0.variant = variant
        c0.control.lambda = 0.02
        var t = base
        t.extraFeedbackEpochs = 0          // Q learns after every batch
        func firstBatch(_ scale: Conventions.UpdateScale) throws -> (forward: [[Double]], feedback: [[Double]]) {
            var c = c0
            c.conventions.updateScale = scale
            let dir = try scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            let trainer = try HILTrainer(backend: try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c),
                                         configuration: c, training: t, variant: variant, directory: dir, resume: false)
            trainer.shouldStop = { true }  // checked after the first batch
            _ = try trainer.run()
            return (trainer.state.forward, trainer.state.feedback)
        }
        let start = try Network.initialized(c0, seed: c0.seed)
        let sum = try firstBatch(.sum), mean = try firstBatch(.publishedMean)
        let B = Double(t.batchSize)
        let forwardFactor = variant == .dfc ? 2 / B : 2 * c0.control.lambda / B
        func steps(_ after: [[Double]], _ before: [[Double]]) -> [Double] { zip(after, before).flatMap { zip($0, $1).map { $0 - $1 } } }
        let dSum = steps(sum.forward, start.forwardTensors), dMean = steps(mean.forward, start.forwardTensors)
        let qSum = steps(sum.feedback, start.feedbackTensors), qMean = steps(mean.feedback, start.feedbackTensors)
        #expect(dSum.contains { $0 != 0 } && qSum.contains { $0 != 0 })
        #expect(zip(dSum, dMean).allSatisfy { abs($0 * forwardFactor - $1) <= 1e-12 * max(1, abs($0)) })
        #expect(zip(qSum, qMean).allSatisfy { abs($0 / B - $1) <= 1e-12 * max(1, abs($0)) })
    }

    @Test("training lowers the test loss and writes metrics, model and checkpoint")
    func learnsAndRecords() throws {
        let (c, t) = smallTask()
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try train(try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c), c, t,
                                epochs: 8, dir: dir, resume: false)
        let m = trainer.state.metrics
        #expect(m.count == 9)
        #expect(m[8].testLoss < m[0].testLoss / 3, "test loss \(m.map(\.testLoss))")
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 9)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.npz").path))
    }

    @Test("a learning rate that blows the loss up stops with a clear error and leaves readable metrics")
    func divergingRunStopsCleanly() throws {
        var (c, t) = smallTask()
        t.learningRate = 1e30
        t.epochs = 5
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try HILTrainer(backend: try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c),
                                     configuration: c, training: t, variant: .bp, directory: dir, resume: false)
        #expect {
            _ = try trainer.run()
        } throws: { error in
            "\(error)".contains("diverged")
        }
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        for line in lines {
            _ = try TrainingCheckpoint.decoder.decode(EpochMetrics.self, from: Data(line.utf8))
        }
        #expect(!lines.isEmpty)
    }

    @Test("feedback learning that makes Q non-finite stops with a clear error, after every batch and in a feedback pass",
          arguments: [0, 1])
    func divergingFeedbackStopsCleanly(extraFeedbackEpochs: Int) throws {
        var (c, t) = feedbackTask()
        t.optimizer = .adam
        t.extraFeedbackEpochs = extraFeedbackEpochs
        // Adam's first steps move each value by ≈ the rate: two of them overflow.
        t.feedbackLearningRate = 1e308
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try HILTrainer(backend: try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c),
                                     configuration: c, training: t, variant: .dfc, directory: dir, resume: false)
        #expect {
            _ = try trainer.run()
        } throws: { error in
            "\(error)".contains("feedback learning diverged") && "\(error)".contains("training.feedbackLearningRate")
        }
        #expect(trainer.state.feedback.allSatisfy(VectorMath.allFinite))
    }

    @Test("metrics with an infinite or NaN loss round-trip through the checkpoint's JSON")
    func nonFiniteMetricsRoundTrip() throws {
        let text = #"{"epoch":1,"samples":8,"trainLoss":"inf","testLoss":"nan","converged":0,"notConverged":0,"diverged":8,"skipped":0,"retried":0,"seconds":1,"samplesPerSecond":8}"#
        let m = try TrainingCheckpoint.decoder.decode(EpochMetrics.self, from: Data(text.utf8))
        let back = try TrainingCheckpoint.decoder.decode(EpochMetrics.self, from: try TrainingCheckpoint.encoder.encode(m))
        #expect(back.trainLoss == .infinity && back.testLoss.isNaN && back.diverged == 8)
    }

    @Test("a sample ngspice cannot solve is retried with relaxed options, then skipped and counted")
    func nonConvergingSamplesAreSkipped() throws {
        var (c, _) = smallTask()
        c.control.steps = 50
        var p = CircuitParameters()
        // A source forcing a soma output that an op-amp also drives: a singular circuit.
        p.include = ["Vclash L1_N0_soma 0 DC 0.3"]
        let net = try Network.initialized(c, seed: c.seed)
        let backend = try SpiceBackend(network: net, configuration: c, circuit: p, engine: EmbeddedNgspice.shared)
        let x = Matrix(rows: 3, columns: 4, repeating: 0.2), y = Matrix(rows: 3, columns: 2)
        let u = try backend.update(inputs: x, labels: y, variant: .dfc)
        #expect(u.skipped == 3 && u.retried == 3, "skipped \(u.skipped), retried \(u.retried)")
        #expect(u.dW.allSatisfy { $0.maxAbs == 0 })
        // The healthy circuit: nothing skipped, nothing retried.
        let healthy = try SpiceBackend(network: net, configuration: c, circuit: CircuitParameters(), engine: EmbeddedNgspice.shared)
        let v = try healthy.update(inputs: x, labels: y, variant: .dfc)
        #expect(v.skipped == 0 && v.retried == 0)
    }

    @Test("behavioral backend reproduces SPICE on the student–teacher net, 6-bit noisy devices included")
    func behavioralMatchesSpice() throws {
        let (c, net, x, y) = try studentTeacher()
        for bits in [0, 6] {
            var p = CircuitParameters()
            if bits > 0 {
                p.device.levels = 1 << bits
                p.device.programmingNoise = 0.02
            }
            let spice = try SpiceBackend(network: net, configuration: c, circuit: p, engine: EmbeddedNgspice.shared)
            let behavioral = try BehavioralBackend(network: net, configuration: c, circuit: p)
            let a = try behavioral.run(input: x.row(0), labels: y.row(0))
            let b = try spice.run(input: x.row(0), labels: y.row(0))
            let cmp = Comparison.compare(reference: a, candidate: b, activations: c.activations, controller: c.controller,
                                         tolerance: c.control.convergenceTolerance, referenceName: "behavioral", candidateName: "spice")
            #expect(cmp.worstRMS <= 0.01, "\(bits) bits: worst RMS \(cmp.worstRMS)")
            #expect(cmp.updateAngles.allSatisfy { $0 <= 2 }, "\(bits) bits: \(cmp.updateAngles)")
        }
    }
}

/// Counts of `StoreCountingBackend`'s feedback calls, shared by its copies.
final class StoreCalls: @unchecked Sendable {
    private let lock = NSLock()
    private var counts = (fromStore: 0, recomputed: 0)
    var fromStore: Int { lock.withLock { counts.fromStore } }
    var recomputed: Int { lock.withLock { counts.recomputed } }

    func count(stored: Bool) {
        lock.withLock { if stored { counts.fromStore += 1 } else { counts.recomputed += 1 } }
    }
}

/// The ideal backend, either taking the trainer's stored feedforward state or declining it.
struct StoreCountingBackend: Backend {
    var ideal: IdealBackend
    let usesStore: Bool
    let calls = StoreCalls()

    var name: String { ideal.name }
    var network: Network { ideal.network }
    var effectiveNetwork: Network { ideal.effectiveNetwork }
    var feedbackStartsFromForward: Bool { usesStore }
    func run(input: [Double], labels: [Double]) throws -> SampleRun { try ideal.run(input: input, labels: labels) }
    func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate {
        try ideal.update(inputs: inputs, labels: labels, variant: variant)
    }
    func reprogrammed(with network: Network, cycle: UInt64) throws -> StoreCountingBackend {
        var b = self
        b.ideal = try ideal.reprogrammed(with: network, cycle: cycle)
        return b
    }
    func feedbackUpdate(inputs: Matrix, variant: Variant, noiseSeed: UInt64) throws -> [Matrix] {
        calls.count(stored: false)
        return try ideal.feedbackUpdate(inputs: inputs, variant: variant, noiseSeed: noiseSeed)
    }
    func feedbackUpdate(inputs: Matrix, feedforward: FeedforwardState, variant: Variant, noiseSeed: UInt64) throws -> [Matrix] {
        calls.count(stored: true)
        return try ideal.feedbackUpdate(inputs: inputs, feedforward: feedforward, variant: variant, noiseSeed: noiseSeed)
    }
}
