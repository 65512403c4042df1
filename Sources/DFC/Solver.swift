import LinearAlgebra

/// How one sample's controlled run ended.
public enum SampleStatus: String, Sendable, Codable {
    /// ‖e − α̃ u‖ ≤ tolerance·‖δ_L‖ at the end: the output sits at r_L* up to the leak's residual.
    case converged
    /// Finite but not at the target within tolerance (too few steps, or oscillating).
    case notConverged = "not-converged"
    /// Left the divergence bound or turned non-finite.
    case diverged
}

extension SampleStatus {
    /// The verdict on one sample's end state: converged when ‖e − α̃u‖ ≤ tolerance·‖δ_L‖
    /// (at a steady state of the PI controller e = α̃u), diverged when marked so or
    /// non-finite, not converged otherwise.
    public static func judge(error e: [Double], u: [Double], delta: [Double], effectiveLeak alphaTilde: Double,
                             tolerance: Double, diverged: Bool = false) -> SampleStatus {
        if diverged { return .diverged }
        var residual = 0.0, scale = 0.0
        for k in 0..<e.count {
            let x = e[k] - alphaTilde * u[k]
            residual += x * x
            scale += delta[k] * delta[k]
        }
        guard residual.isFinite else { return .diverged }
        return residual.squareRoot() <= tolerance * max(scale.squareRoot(), 1e-300) ? .converged : .notConverged
    }
}

/// The result of running one variant on one batch.
public struct Solution: Sendable {
    public var variant: Variant
    public var feedforward: FeedforwardState
    /// r_L* (batch × n_L) and δ_L = r_L* − r_L⁻.
    public var target: Matrix
    public var delta: Matrix
    /// The controller output at the end (zeros for the baselines).
    public var u: Matrix
    /// Controlled v_i and basal v_i^B at the end (the feedforward values for the baselines).
    public var soma: [Matrix]
    public var basal: [Matrix]
    /// The update, summed over the batch, signed to decrease the loss.
    public var dW: [Matrix]
    public var db: [[Double]]
    /// Feedback update of Eq. 13 when the variant learns Q and it was asked for.
    public var dQ: [Matrix]?
    public var traces: Traces?
    public var status: [SampleStatus]
    /// The batch loss at the feedforward state, with the configured reduction.
    public var loss: Double

    public func count(_ s: SampleStatus) -> Int { status.filter { $0 == s }.count }
}

/// Runs variants of DFC and the baselines on batches for one network.
public struct Solver: Sendable {
    public var network: Network
    public var configuration: Configuration

    public init(network: Network, configuration: Configuration) throws {
        try configuration.validate()
        guard network.sizes == configuration.sizes else {
            throw ModelError("model layer sizes \(network.sizes) do not match config network.sizes \(configuration.sizes)")
        }
        var net = network
        net.activations = configuration.activations
        self.network = net
        self.configuration = configuration
    }

    /// r_L* = r_L⁻ − λ ∂L/∂r_L (Eq. 3) and δ_L, with the configured loss reduction.
    public func target(feedforward ff: FeedforwardState, labels: Matrix) -> (target: Matrix, delta: Matrix) {
        let g = configuration.loss.gradient(ff.output, labels, reduction: configuration.conventions.lossReduction)
        let delta = g * -configuration.control.lambda
        return (ff.output + delta, delta)
    }

    func checkLabels(_ labels: Matrix, batch: Int) throws {
        guard labels.rows == batch else {
            throw ModelError("labels have \(labels.rows) samples but the input has \(batch)")
        }
        guard labels.columns == network.outputSize else {
            throw ModelError("labels have \(labels.columns) columns, the network has \(network.outputSize) outputs")
        }
        guard labels.isFinite else { throw ModelError("labels contain NaN or Inf") }
    }

    /// The forward-phase dynamics parameters from the configuration.
    public var forwardDynamics: DynamicsParameters {
        let c = configuration.control
        return DynamicsParameters(controller: configuration.controller, tauV: c.tauV, dt: c.dt, steps: c.steps,
                                  sigma: c.sigma, transmission: configuration.conventions.transmission,
                                  divergenceBound: c.divergenceBound)
    }

    /// Runs `variant` on the batch `input` (batch × n_0) with `labels` (batch × n_L).
    /// With `feedbackUpdate`, variants that learn Q also run the feedback phase and return dQ.
    public func solve(input: Matrix, labels: Matrix, variant: Variant, feedbackUpdate: Bool = false,
                      traceStride: Int? = nil, generator: inout SeededGenerator) throws -> Solution {
        try network.validateInput(input)
        try checkLabels(labels, batch: input.rows)
        let ff = network.forward(input)
        let (target, delta) = self.target(feedforward: ff, labels: labels)
        let loss = configuration.loss.value(ff.output, labels, reduction: configuration.conventions.lossReduction)
        let B = input.rows
        var solution = Solution(variant: variant, feedforward: ff, target: target, delta: delta,
                                u: Matrix(rows: B, columns: network.outputSize), soma: ff.potentials,
                                basal: ff.potentials, dW: [], db: [], dQ: nil, traces: nil,
                                status: Array(repeating: .converged, count: B), loss: loss)
        switch variant.family {
        case .trajectory, .steadyState:
            var options = DynamicsOptions()
            options.forwardPlasticity = variant.family == .trajectory
                ? .trajectory(configuration.conventions.trajectoryAverage) : .finalState
            options.traceStride = traceStride ?? configuration.control.traceStride
            let dynamics = Dynamics(network: network, parameters: forwardDynamics, options: options)
            let run = dynamics.run(input: input, target: target, feedforward: ff, generator: &generator)
            solution.u = run.u
            solution.soma = run.soma
            solution.basal = run.basal
            solution.dW = run.dW
            solution.db = run.db
            if run.diverged.contains(true) {
                // A diverged sample's contributions before it was frozen can be huge: the
                // update is recomputed from the samples that stayed bounded.
                let kept = (0..<B).filter { !run.diverged[$0] }
                if kept.isEmpty {
                    solution.dW = network.weights.map { Matrix(rows: $0.rows, columns: $0.columns) }
                    solution.db = network.biases.map { [Double](repeating: 0, count: $0.count) }
                } else {
                    func pick(_ m: Matrix) -> Matrix { Matrix.vstack(kept.map { m.rows($0..<($0 + 1)) }) }
                    let subset = FeedforwardState(rates: ff.rates.map(pick), potentials: ff.potentials.map(pick))
                    var g = generator.derived(0xD1)
                    let again = Dynamics(network: network, parameters: forwardDynamics, options: options)
                        .run(input: pick(input), target: pick(target), feedforward: subset, generator: &g)
                    solution.dW = again.dW
                    solution.db = again.db
                }
            }
            solution.traces = run.traces
            solution.status = classify(error: run.error, u: run.u, delta: delta, diverged: run.diverged)
        case .analytic:
            let controller = configuration.controller
            let ssa = try SteadyStateApproximation(network: network, feedforward: ff, delta: delta,
                                                   effectiveLeak: controller.effectiveLeak,
                                                   propagation: configuration.conventions.ssaPropagation)
            let update = ssa.update(network: network, input: input)
            solution.u = ssa.u
            solution.soma = ssa.soma
            solution.basal = ssa.basal
            solution.dW = update.dW
            solution.db = update.db
            let output = network.phi(network.depth - 1, ssa.soma[network.depth - 1])
            let diverged = (0..<B).map { s in !(0..<output.columns).allSatisfy { output[s, $0].isFinite } }
            solution.status = classify(error: target - output, u: ssa.u, delta: delta, diverged: diverged)
        case .baseline:
            let rule: Network.BaselineRule = switch variant {
            case .bp: .backpropagation
            case .fa: .feedbackAlignment
            default: .directFeedbackAlignment
            }
            let g = configuration.loss.gradient(ff.output, labels, reduction: configuration.conventions.lossReduction)
            let update = try network.baselineUpdate(rule, feedforward: ff, lossGradient: g)
            solution.dW = update.dW
            solution.db = update.db
        }
        if feedbackUpdate && variant.learnsFeedback {
            solution.dQ = feedbackPhase(input: input, feedforward: ff, variant: variant, generator: &generator)
        }
        return solution
    }

    /// The convergence verdict per sample: converged when ‖e − α̃u‖ ≤ tol·‖δ_L‖.
    func classify(error e: Matrix, u: Matrix, delta: Matrix, diverged: [Bool]) -> [SampleStatus] {
        (0..<e.rows).map { s in
            SampleStatus.judge(error: e.row(s), u: u.row(s), delta: delta.row(s),
                               effectiveLeak: configuration.controller.effectiveLeak,
                               tolerance: configuration.control.convergenceTolerance, diverged: diverged[s])
        }
    }

    /// The feedback update of a batch: ΔQ_i = (the variant's feedback signal) − B·β Q_i. For the
    /// DFC variants the signal is the noise-driven phase of Eq. 12–13; for `ddtp-linear` the
    /// difference reconstruction update, σ_fb its perturbation (`Network.differenceReconstructionUpdate`).
    /// The rule follows `variant`, the caller's, not the configuration's: a solver asked for
    /// one variant never runs another's feedback rule.
    public func feedbackPhase(input: Matrix, feedforward ff: FeedforwardState, variant: Variant,
                              generator: inout SeededGenerator) -> [Matrix] {
        let f = configuration.feedback
        let signal = variant == .ddtpLinear
            ? network.differenceReconstructionUpdate(feedforward: ff, sigma: f.sigma, generator: &generator)
            : noiseDrivenCorrelation(input: input, feedforward: ff, generator: &generator)
        let decay = f.decay * Double(input.rows)
        return zip(signal, network.feedback).map { dq, q in dq - q * decay }
    }

    /// The noise-driven feedback phase (Eq. 12–13): target r_L* = r_L⁻, noise σ_fb in the
    /// apical compartment; returns s·Σ_samples ⟨−v_i^A uᵀ⟩_t, with s = 1 or 1/max(σ_fb, 0.01)²
    /// by `conventions.feedbackScaling`.
    func noiseDrivenCorrelation(input: Matrix, feedforward ff: FeedforwardState,
                                generator: inout SeededGenerator) -> [Matrix] {
        let f = configuration.feedback
        let controller = PIController(kp: f.kp, alpha: f.alpha, tauU: f.tauU, leak: configuration.conventions.leak)
        let parameters = DynamicsParameters(controller: controller, tauV: f.tauV, dt: f.dt, steps: f.steps,
                                            sigma: f.sigma, transmission: configuration.conventions.transmission,
                                            divergenceBound: configuration.control.divergenceBound)
        var options = DynamicsOptions()
        options.feedbackPlasticity = true
        options.noiseEntry = .apical
        options.apicalTau = f.apicalTau
        let dynamics = Dynamics(network: network, parameters: parameters, options: options)
        var run = dynamics.run(input: input, target: ff.output, feedforward: ff, generator: &generator)
        if run.diverged.contains(true) {
            // As in the forward phase: a runaway sample's contributions are dropped.
            let kept = (0..<input.rows).filter { !run.diverged[$0] }
            if kept.isEmpty {
                run.dQ = network.feedback.map { Matrix(rows: $0.rows, columns: $0.columns) }
            } else {
                func pick(_ m: Matrix) -> Matrix { Matrix.vstack(kept.map { m.rows($0..<($0 + 1)) }) }
                let subset = FeedforwardState(rates: ff.rates.map(pick), potentials: ff.potentials.map(pick))
                var g = generator.derived(0xD2)
                run.dQ = dynamics.run(input: pick(input), target: pick(ff.output), feedforward: subset, generator: &g).dQ
            }
        }
        let scale = configuration.feedbackCorrelationScale
        return run.dQ.map { $0 * scale }
    }
}
