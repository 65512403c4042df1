/// Choices where the DFC paper's text and its published code differ (DESIGN.md §1).
/// Every default is the paper's; `Conventions.publishedCode` selects the code's.
public struct Conventions: Sendable, Equatable, Codable {
    /// Which quantity the controller's integrator leaks.
    public enum Leak: String, Sendable, Codable, CaseIterable {
        /// Eq. 4: τ_u du_int/dt = e − α u_int, so α̃ = α / (1 + α k_p).
        case integral
        /// Published code: τ_u du_int/dt = e − α u (leaks the total u), so α̃ = α.
        case total
    }

    /// How Lemma 1's u_ss becomes the potentials used by `dfc-ssa`.
    public enum SSAPropagation: String, Sendable, Codable, CaseIterable {
        /// Eq. 6 read literally, as the published code does: v_i = W_i φ(v_{i−1}) + b_i + Q_i u_ss,
        /// propagated through the nonlinear network layer by layer.
        case nonlinear
        /// First order only: v_i = v_i⁻ + Q_i u_ss around the feedforward state.
        case linear
    }

    /// How the trajectory of Eq. 5 becomes one update in `dfc`.
    public enum TrajectoryAverage: String, Sendable, Codable, CaseIterable {
        /// (1/T) ∫_0^T … dt by the trapezoid rule over the states t_0 … t_N
        /// (τ_W = T, so the size compares directly with the steady-state form, Eq. 9).
        case integral
        /// Published code: the arithmetic mean over all stored states t_0 … t_N,
        /// t = 0 included (its `tmax` stored states are N = tmax − 1 Euler steps).
        case mean
    }

    /// Which presynaptic rate layer i sees within one Euler step.
    public enum Transmission: String, Sendable, Codable, CaseIterable {
        /// Forward Euler of Eq. 1: every layer reads r_{i−1} of the previous step.
        case delayed
        /// Published code (`inst_transmission`): layer i reads r_{i−1} already
        /// updated in this step (layers stay leaky integrators).
        case instantaneous
    }

    /// How the feedback rule (Eq. 13) weighs its correlation term against the decay.
    public enum FeedbackScaling: String, Sendable, Codable, CaseIterable {
        /// Eq. 13 as written: ΔQ_i ∝ −v_i^fb uᵀ − β Q_i. The correlation scales with σ_fb²,
        /// so β fixes how large σ_fb must be.
        case none
        /// Published code: ΔQ_i ∝ −v_i^fb uᵀ / max(σ_fb, 0.01)² − β Q_i, so the balance
        /// with β (the γ of Theorem 6) does not depend on the noise level.
        case noiseVariance
    }

    /// What the optimizer receives from a DFC variant: the clip norm and Adam's ε only mean
    /// the same as in the published configs at the same scale.
    public enum UpdateScale: String, Sendable, Codable, CaseIterable {
        /// The update as returned: ΔW summed over the batch, ΔQ summed over the batch.
        case sum
        /// Published code: its layer gradient is −(2/B) Σ_b (φ(v) − φ(v^ff)) rᵀ (a batch mean of
        /// the derivative of ‖φ(v) − φ(v^ff)‖²) and its feedback gradient a batch mean, so the
        /// optimizer gets (2/B)·ΔW and (1/B)·ΔQ. The baselines' updates are the gradient of the
        /// batch-mean loss already, and stay as they are — except `ddtp-linear`'s: the published
        /// DTP layers take the batch mean of the gradient of ‖r_i − r_i*‖² with λ-sized targets,
        /// (2λ/B)·ΔW (see `forwardScale`).
        case publishedMean
        /// `publishedMean`, and `dfa` too gets the published DTP layers' (2λ/B)·ΔW, as if its
        /// fixed Q ran through the published code's DFA network: the ablation that tells
        /// `ddtp-linear`'s learned Q apart from its optimizer regime.
        case publishedTargets
    }

    /// The factor on a batch's forward update ΔW before the optimizer sees it.
    ///
    /// Under `publishedMean`: 2/B for the DFC variants; 2λ/B for `ddtp-linear`, whose published
    /// layers form r_i* = r_i − λ Q_i g (g the batch-mean loss gradient at the output) and hand
    /// the optimizer (1/B)·Σ_b 2φ'(v_i)∘(r_i − r_i*) r_{i−1}ᵀ; 1 for bp, fa, dfa. With Adam's
    /// ε = 3.3e-7 that scale is the difference between Adam and momentum SGD: at 2λ/B ≈ 1.6e-5
    /// the published gradients sit below ε. Under `sum`: 1.
    public func forwardScale(_ variant: Variant, batch: Int, lambda: Double) -> Double {
        guard updateScale != .sum else { return 1 }
        switch variant.family {
        case .trajectory, .steadyState, .analytic: return 2 / Double(batch)
        case .baseline:
            let throughTargets = variant == .ddtpLinear || (variant == .dfa && updateScale == .publishedTargets)
            return throughTargets ? 2 * lambda / Double(batch) : 1
        }
    }

    /// The factor on a batch's feedback update ΔQ: 1/B (the published batch mean) unless `sum`.
    public func feedbackScale(batch: Int) -> Double {
        updateScale == .sum ? 1 : 1 / Double(batch)
    }

    public var leak: Leak = .integral
    public var lossReduction: LossReduction = .sum
    public var ssaPropagation: SSAPropagation = .nonlinear
    public var trajectoryAverage: TrajectoryAverage = .integral
    public var transmission: Transmission = .delayed
    public var feedbackScaling: FeedbackScaling = .none
    public var updateScale: UpdateScale = .sum

    public init() {}

    enum CodingKeys: String, CodingKey {
        case leak, lossReduction, ssaPropagation, trajectoryAverage, transmission, feedbackScaling, updateScale
    }

    /// Checkpoints and configs written before `feedbackScaling` existed decode with the paper's choice.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        leak = try c.decode(Leak.self, forKey: .leak)
        lossReduction = try c.decode(LossReduction.self, forKey: .lossReduction)
        ssaPropagation = try c.decode(SSAPropagation.self, forKey: .ssaPropagation)
        trajectoryAverage = try c.decode(TrajectoryAverage.self, forKey: .trajectoryAverage)
        transmission = try c.decode(Transmission.self, forKey: .transmission)
        feedbackScaling = try c.decodeIfPresent(FeedbackScaling.self, forKey: .feedbackScaling) ?? .none
        updateScale = try c.decodeIfPresent(UpdateScale.self, forKey: .updateScale) ?? .sum
    }

    /// The published code's choices in every place they differ.
    public static var publishedCode: Conventions {
        var c = Conventions()
        c.leak = .total
        c.lossReduction = .mean
        c.ssaPropagation = .nonlinear
        c.trajectoryAverage = .mean
        c.transmission = .instantaneous
        c.feedbackScaling = .noiseVariance
        c.updateScale = .publishedMean
        return c
    }
}

/// Parameters of the controlled (forward-learning) phase. Times are in the same
/// units as `tauU` (the papers use τ_u = 1).
public struct ControlParameters: Sendable, Equatable, Codable {
    /// Proportional gain k_p ≥ 0.
    public var kp: Double = 1.5
    /// Integrator leak α ≥ 0.
    public var alpha: Double = 0.0015
    /// Target step size λ > 0 (Eq. 3).
    public var lambda: Double = 0.05
    /// Somatic time constant τ_v.
    public var tauV: Double = 0.2
    /// Controller time constant τ_u.
    public var tauU: Double = 1.0
    /// Euler step.
    public var dt: Double = 0.005
    /// Number of Euler steps N (the run spans T = N·dt).
    public var steps: Int = 1000
    /// Noise σ in the somatic dynamics (Eq. 12), 0 for deterministic runs.
    public var sigma: Double = 0
    /// Keep every `traceStride`-th state in traces (0 = no traces).
    public var traceStride: Int = 10
    /// A sample has converged when ‖e − α̃ u‖ ≤ tolerance · ‖δ_L‖ at the end of the run.
    public var convergenceTolerance: Double = 0.05
    /// A sample has diverged when any |v| exceeds this or turns non-finite.
    public var divergenceBound: Double = 1e6

    public init() {}
}

/// Parameters of the noise-driven feedback-learning phase (Eq. 12–13), with its own
/// controller gains and time constants as in the published code.
public struct FeedbackParameters: Sendable, Equatable, Codable {
    public var kp: Double = 0
    public var alpha: Double = 0.5
    public var tauV: Double = 0.005
    public var tauU: Double = 1.0
    /// Time constant of the apical compartment, which low-passes the injected noise
    /// so that it correlates with the controller's response; 0 makes it instantaneous.
    public var apicalTau: Double = 0.1
    public var dt: Double = 0.001
    public var steps: Int = 100
    /// Noise σ_fb injected into the apical compartment.
    public var sigma: Double = 0.1
    /// Weight decay β of Eq. 13.
    public var decay: Double = 0

    public init() {}
}
