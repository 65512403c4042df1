import LinearAlgebra

/// Everything that defines a DFC experiment apart from the weights: the network's
/// shape, the variant, the two phases' parameters, the paper/code conventions and
/// the seed. Read from YAML or JSON by `Training.ConfigurationLoader`.
public struct Configuration: Sendable, Equatable {
    /// Weight initializations.
    public enum Initialization: String, Sendable, Codable, CaseIterable {
        /// N(0, 2/(fan_in + fan_out)), as the published code.
        case xavierNormal = "xavier-normal"
        /// Q_i = Π_{k>i} W_kᵀ (the "(fixed)" variants), with Q_L = I.
        case weightProduct = "weight-product"
    }

    /// How the output layer's feedback weights Q_L are set.
    public enum OutputFeedback: String, Sendable, Codable, CaseIterable {
        /// Q_L drawn by `feedbackInit` and learned with the other Q_i.
        case learned
        /// Q_L = I and never trained: the published code sets the output layer's feedback to
        /// the identity under every initialization and freezes it (`freeze_fb_weights_output`),
        /// so the controller drives the output neurons directly and the k_p term acts at once.
        case identity
    }

    public var name = "dfc"
    public var seed: UInt64 = 42
    /// n_0 … n_L.
    public var sizes: [Int] = [15, 10, 10, 5]
    /// φ_1 … φ_L.
    public var activations: [Activation] = [.tanh, .tanh, .linear]
    public var loss: Loss = .mse
    public var forwardInit: Initialization = .xavierNormal
    public var feedbackInit: Initialization = .xavierNormal
    public var outputFeedback: OutputFeedback = .learned
    public var variant: Variant = .dfc
    public var control = ControlParameters()
    public var feedback = FeedbackParameters()
    public var conventions = Conventions()
    /// Per-sample diagnostics (eigenvalues, Conditions 1–3) use at most this many samples.
    public var diagnosticSamples = 16

    public init() {}

    /// The forward-phase controller.
    public var controller: PIController {
        PIController(kp: control.kp, alpha: control.alpha, tauU: control.tauU, leak: conventions.leak)
    }

    /// The factor s on the correlation term of Eq. 13, ΔQ_i = s·⟨−v_i^fb uᵀ⟩ − β Q_i: 1 as
    /// written in the paper, 1/max(σ_fb, 0.01)² as in the published code. Every backend
    /// takes it from here.
    public var feedbackCorrelationScale: Double {
        switch conventions.feedbackScaling {
        case .none: 1
        case .noiseVariance: 1 / (max(feedback.sigma, 0.01) * max(feedback.sigma, 0.01))
        }
    }

    /// Checks ranges and consistency; the message names the field.
    /// Deeper networks than any experiment of the papers (5 layers) by far; the bound keeps
    /// a typo such as 100 002 layers from running for hours before it fails.
    public static let maxLayers = 1_000
    /// Euler steps per controlled run: 10⁷ steps of a 15-10-10-5 net take minutes, 10¹² years.
    public static let maxSteps = 10_000_000

    /// Σ_i (n_i n_{i−1} + n_i + n_i n_L): the weights, biases and feedback weights, or nil
    /// when the count overflows 64 bits.
    public var parameterCount: Int? {
        guard let last = sizes.last else { return 0 }
        var terms: [Int?] = []
        for i in 1..<max(1, sizes.count) {
            terms.append(MemoryBudget.product([sizes[i], sizes[i - 1]]))
            terms.append(sizes[i])
            terms.append(MemoryBudget.product([sizes[i], last]))
        }
        return MemoryBudget.sum(terms)
    }

    public func validate() throws {
        guard sizes.count >= 2 else { throw ModelError("network.sizes: need at least an input and an output size") }
        guard sizes.count - 1 <= Self.maxLayers else {
            throw ModelError("network.sizes: \(sizes.count - 1) layers; at most \(Self.maxLayers) are supported")
        }
        for (k, n) in sizes.enumerated() where n <= 0 {
            throw ModelError("network.sizes[\(k)]: size must be positive, got \(n)")
        }
        guard parameterCount != nil else {
            throw ModelError("network.sizes: \(sizes) gives more weights than 64-bit arithmetic can count")
        }
        guard activations.count == sizes.count - 1 else {
            throw ModelError("network.activations: \(sizes.count - 1) layers need \(sizes.count - 1) activations, got \(activations.count)")
        }
        func positive(_ x: Double, _ field: String) throws {
            guard x.isFinite, x > 0 else { throw ModelError("\(field): must be a positive finite number, got \(x)") }
        }
        func nonNegative(_ x: Double, _ field: String) throws {
            guard x.isFinite, x >= 0 else { throw ModelError("\(field): must be a finite number ≥ 0, got \(x)") }
        }
        // The fields both phases share, checked alike.
        func phase(_ name: String, kp: Double, alpha: Double, tauV: Double, tauU: Double, dt: Double,
                   steps: Int, sigma: Double) throws {
            try nonNegative(kp, "\(name).kp")
            try nonNegative(alpha, "\(name).alpha")
            try positive(tauV, "\(name).tauV")
            try positive(tauU, "\(name).tauU")
            try positive(dt, "\(name).dt")
            try nonNegative(sigma, "\(name).sigma")
            guard steps >= 1 else { throw ModelError("\(name).steps: must be ≥ 1, got \(steps)") }
            guard steps <= Self.maxSteps else {
                throw ModelError("\(name).steps: \(steps) Euler steps per run is beyond any experiment here (at most \(Self.maxSteps); the published ones take 100–3 000)")
            }
            // Forward Euler on a leaky integrator is unstable past dt = 2τ.
            if dt >= 2 * tauV {
                throw ModelError("\(name).dt: Euler step \(dt) ≥ 2·tauV = \(2 * tauV) is unstable; reduce dt")
            }
        }
        let c = control, f = feedback
        if variant == .ddtpLinear && !(f.sigma > 0) {
            throw ModelError("feedback.sigma: ddtp-linear's difference reconstruction loss perturbs the rates by σ, so σ must be > 0, got \(f.sigma)")
        }
        try phase("dfc", kp: c.kp, alpha: c.alpha, tauV: c.tauV, tauU: c.tauU, dt: c.dt, steps: c.steps, sigma: c.sigma)
        try phase("feedback", kp: f.kp, alpha: f.alpha, tauV: f.tauV, tauU: f.tauU, dt: f.dt, steps: f.steps, sigma: f.sigma)
        try positive(c.lambda, "dfc.lambda")
        try positive(c.convergenceTolerance, "dfc.convergenceTolerance")
        try positive(c.divergenceBound, "dfc.divergenceBound")
        guard c.traceStride >= 0 else { throw ModelError("dfc.traceStride: must be ≥ 0") }
        try nonNegative(f.apicalTau, "feedback.apicalTau")
        try nonNegative(f.decay, "feedback.decay")
        guard diagnosticSamples >= 1 else { throw ModelError("diagnostics.samples: must be ≥ 1") }
    }
}
