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

    public var name = "dfc"
    public var seed: UInt64 = 42
    /// n_0 … n_L.
    public var sizes: [Int] = [15, 10, 10, 5]
    /// φ_1 … φ_L.
    public var activations: [Activation] = [.tanh, .tanh, .linear]
    public var loss: Loss = .mse
    public var forwardInit: Initialization = .xavierNormal
    public var feedbackInit: Initialization = .xavierNormal
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

    /// Checks ranges and consistency; the message names the field.
    public func validate() throws {
        guard sizes.count >= 2 else { throw ModelError("network.sizes: need at least an input and an output size") }
        for (k, n) in sizes.enumerated() where n <= 0 {
            throw ModelError("network.sizes[\(k)]: size must be positive, got \(n)")
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
        try nonNegative(control.kp, "dfc.kp")
        try nonNegative(control.alpha, "dfc.alpha")
        try positive(control.lambda, "dfc.lambda")
        try positive(control.tauV, "dfc.tauV")
        try positive(control.tauU, "dfc.tauU")
        try positive(control.dt, "dfc.dt")
        try nonNegative(control.sigma, "dfc.sigma")
        try positive(control.convergenceTolerance, "dfc.convergenceTolerance")
        try positive(control.divergenceBound, "dfc.divergenceBound")
        guard control.steps >= 1 else { throw ModelError("dfc.steps: must be ≥ 1, got \(control.steps)") }
        guard control.traceStride >= 0 else { throw ModelError("dfc.traceStride: must be ≥ 0") }
        try nonNegative(feedback.kp, "feedback.kp")
        try nonNegative(feedback.alpha, "feedback.alpha")
        try positive(feedback.tauV, "feedback.tauV")
        try positive(feedback.tauU, "feedback.tauU")
        try nonNegative(feedback.apicalTau, "feedback.apicalTau")
        try positive(feedback.dt, "feedback.dt")
        try nonNegative(feedback.sigma, "feedback.sigma")
        try nonNegative(feedback.decay, "feedback.decay")
        guard feedback.steps >= 1 else { throw ModelError("feedback.steps: must be ≥ 1, got \(feedback.steps)") }
        guard diagnosticSamples >= 1 else { throw ModelError("diagnostics.samples: must be ≥ 1") }
        // Forward Euler on a leaky integrator is unstable past dt = 2τ.
        if control.dt >= 2 * control.tauV {
            throw ModelError("dfc.dt: Euler step \(control.dt) ≥ 2·tauV = \(2 * control.tauV) is unstable; reduce dt")
        }
        if feedback.dt >= 2 * feedback.tauV {
            throw ModelError("feedback.dt: Euler step \(feedback.dt) ≥ 2·tauV = \(2 * feedback.tauV) is unstable; reduce dt")
        }
    }
}
