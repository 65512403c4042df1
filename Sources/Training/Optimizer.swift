import DFC
import LinearAlgebra

/// The host-side optimizer of forward (and feedback) weights. Updates arrive as
/// descent directions (what `Solver` and the backends return: W + ΔW lowers the loss),
/// so SGD adds η·ΔW and Adam treats g = −ΔW as the gradient.
public struct Optimizer: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case sgd, adam }

    public var kind: Kind
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Per-tensor gradient-norm clipping (0: off), as the published code's `clip_grad_norm`.
    public var clipNorm: Double
    /// Steps taken so far (Adam's bias correction).
    public var steps: Int = 0
    /// Adam's first and second moments, one flat array per tensor, created on first use.
    public var firstMoments: [[Double]] = []
    public var secondMoments: [[Double]] = []

    public init(kind: Kind, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, clipNorm: Double = 0) {
        self.kind = kind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.clipNorm = clipNorm
    }

    /// Applies one step to `tensors` (flat parameter arrays) along the descent directions
    /// `scale`·`directions`; the scale is folded into the rate like clipping, and the clip
    /// norm applies to the scaled directions. Returns whether every new value is finite
    /// (checked on the way, not in another pass).
    @discardableResult
    public mutating func step(_ tensors: inout [[Double]], directions: [[Double]], scale: Double = 1) -> Bool {
        precondition(tensors.count == directions.count)
        steps += 1
        if kind == .adam && firstMoments.count != tensors.count {
            firstMoments = tensors.map { [Double](repeating: 0, count: $0.count) }
            secondMoments = firstMoments
        }
        let c1 = 1 - pow(beta1, Double(steps)), c2 = 1 - pow(beta2, Double(steps))
        var finite = true
        for t in 0..<tensors.count {
            let d = directions[t]
            precondition(d.count == tensors[t].count, "optimizer: tensor \(t) has \(tensors[t].count) values, its update \(d.count)")
            // Clipping scales the whole update; folded into the rate, it costs no extra pass.
            var scale = scale
            if clipNorm > 0 {
                let norm = abs(scale) * VectorMath.sumOfSquares(d).squareRoot()
                if norm > clipNorm { scale *= clipNorm / norm }
            }
            let rate = learningRate
            switch kind {
            case .sgd:
                finite = VectorMath.descentStep(&tensors[t], direction: d, rate: rate * scale) && finite
            case .adam:
                finite = VectorMath.adamStep(&tensors[t], m: &firstMoments[t], v: &secondMoments[t], descent: d,
                                    clipScale: scale, rate: rate / c1, secondScale: 1 / c2,
                                    beta1: beta1, beta2: beta2, epsilon: epsilon) && finite
            }
        }
        return finite
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension Network {
    /// W_1, b_1, …, W_L, b_L as flat arrays (the order `Optimizer` and checkpoints use).
    public var forwardTensors: [[Double]] {
        get { (0..<depth).flatMap { [weights[$0].storage, biases[$0]] } }
        set {
            for i in 0..<depth {
                weights[i].storage = newValue[2 * i]
                biases[i] = newValue[2 * i + 1]
            }
        }
    }

    /// Q_1, …, Q_L as flat arrays.
    public var feedbackTensors: [[Double]] {
        get { feedback.map(\.storage) }
        set { for i in 0..<depth { feedback[i].storage = newValue[i] } }
    }
}

/// The `training` section of a config.
public struct TrainingParameters: Sendable, Equatable {
    public var optimizer: Optimizer.Kind = .sgd
    public var learningRate = 0.01
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    public var clipNorm = 0.0
    public var batchSize = 32
    public var epochs = 10
    /// Student–teacher data set sizes (train, test).
    public var trainSamples = 1000
    public var testSamples = 200
    /// Write a checkpoint after every this many samples (rounded up to whole batches).
    public var checkpointEvery = 256
    /// Feedback learning (Eq. 13) after every forward batch with this rate; 0 = off.
    public var feedbackLearningRate = 0.0
    /// Feedback-only passes over the training set before forward training (the published
    /// code's `epochs_fb`), with their own rate (`lr_fb_init`), and after every forward
    /// epoch (`extra_fb_epochs`, rate `feedbackLearningRate`). Both need a variant that learns Q.
    public var feedbackPretrainEpochs = 0
    public var feedbackPretrainRate = 0.0
    public var extraFeedbackEpochs = 0
    /// A feedback-only pass over the training set before each forward epoch, as the published
    /// code's `train_separate` does (so an epoch has 1 + `extraFeedbackEpochs` feedback passes).
    public var feedbackPassFirst = false
    /// With extra feedback epochs or a leading pass, feedback learns in those passes only,
    /// not after every batch.
    /// Adam's ε and the clip norm of the feedback optimizer (the published code's
    /// `epsilon_fb`; its DDTP feedback optimizer does not clip); nil: `epsilon`, `clipNorm`.
    public var feedbackEpsilon: Double?
    public var feedbackClipNorm: Double?
    /// Whether pre-training and the later feedback passes each have their own optimizer state,
    /// as the published code's `feedback_init_optimizer` and `feedback_optimizer`: the state
    /// starts afresh (moments zero, bias correction from step 1) after the last pre-training
    /// pass. false: one state throughout, only the rate switches.
    public var separateFeedbackOptimizers = false

    public init() {}

    public func optimizer(rate: Double? = nil) -> Optimizer {
        Optimizer(kind: optimizer, learningRate: rate ?? learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, clipNorm: clipNorm)
    }

    /// A fresh optimizer for Q: the forward one's kind and betas, its own ε and clip norm.
    public func feedbackOptimizer(rate: Double) -> Optimizer {
        Optimizer(kind: optimizer, learningRate: rate, beta1: beta1, beta2: beta2,
                  epsilon: feedbackEpsilon ?? epsilon, clipNorm: feedbackClipNorm ?? clipNorm)
    }

    /// The state Q's training starts from, at the start of a run and, with
    /// `separateFeedbackOptimizers`, again after pre-training (each pass sets its own rate).
    public var freshFeedbackOptimizer: Optimizer { feedbackOptimizer(rate: max(feedbackLearningRate, 1e-12)) }

    public func validate() throws {
        func positive(_ x: Double, _ f: String) throws {
            guard x.isFinite, x > 0 else { throw ModelError("training.\(f): must be positive and finite, got \(x)") }
        }
        try positive(learningRate, "learningRate")
        try positive(epsilon, "epsilon")
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else { throw ModelError("training.beta1: betas must be in [0, 1)") }
        guard clipNorm >= 0, clipNorm.isFinite else { throw ModelError("training.clipNorm: must be ≥ 0") }
        if let e = feedbackEpsilon { try positive(e, "feedbackEpsilon") }
        if let c = feedbackClipNorm, !(c >= 0 && c.isFinite) { throw ModelError("training.feedbackClipNorm: must be ≥ 0, got \(c)") }
        guard feedbackLearningRate >= 0, feedbackLearningRate.isFinite else { throw ModelError("training.feedbackLearningRate: must be ≥ 0") }
        guard feedbackPretrainRate >= 0, feedbackPretrainRate.isFinite else { throw ModelError("training.feedbackPretrainRate: must be ≥ 0") }
        guard feedbackPretrainEpochs >= 0, extraFeedbackEpochs >= 0 else { throw ModelError("training.feedbackPretrainEpochs: must be ≥ 0") }
        for (v, f) in [(batchSize, "batchSize"), (epochs, "epochs"), (trainSamples, "trainSamples"), (testSamples, "testSamples"), (checkpointEvery, "checkpointEvery")] where v < 1 {
            throw ModelError("training.\(f): must be ≥ 1, got \(v)")
        }
    }
}
