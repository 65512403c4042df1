import DFC
import LinearAlgebra

/// One sample through one backend: feedforward phase → target → controlled run, as
/// traces in model units on the backend's own time grid.
public struct SampleRun: Sendable {
    /// Time in model units (τ_u = 1 in the papers), nondecreasing; the circuit's grid is nonuniform.
    public var time: [Double]
    /// Per layer i (index i−1), T × n_i: v_i, v_i^B, v_i^A and r_i = φ(v_i) over time.
    public var soma: [Matrix]
    public var basal: [Matrix]
    public var apical: [Matrix]
    public var rates: [Matrix]
    /// T × n_L: the controller output u and the error e = r_L* − r_L.
    public var u: Matrix
    public var error: Matrix
    /// The input r_0 (constant during the sample).
    public var input: [Double]
    /// The feedforward potentials v_i⁻ the backend settled to, and its target r_L*.
    public var feedforward: [[Double]]
    public var target: [Double]

    public var steps: Int { time.count }
}

/// The update one mini-batch prescribes, summed over its samples, with what happened.
public struct BatchUpdate: Sendable {
    public var dW: [Matrix]
    public var db: [[Double]]
    public var converged = 0
    public var notConverged = 0
    public var diverged = 0
    /// Samples the backend could not simulate even after retrying (SPICE non-convergence).
    public var skipped = 0
    /// Samples retried with relaxed simulator options.
    public var retried = 0
    /// Σ of the per-sample losses at the feedforward state, when the backend knows them.
    public var loss: Double?

    public init(dW: [Matrix], db: [[Double]]) {
        self.dW = dW
        self.db = db
    }

    mutating func add(_ other: BatchUpdate) {
        for i in 0..<dW.count {
            dW[i] += other.dW[i]
            for j in 0..<db[i].count { db[i][j] += other.db[i][j] }
        }
        converged += other.converged
        notConverged += other.notConverged
        diverged += other.diverged
        skipped += other.skipped
        retried += other.retried
        if let l = other.loss { loss = (loss ?? 0) + l }
    }

    mutating func count(_ status: SampleStatus) {
        switch status {
        case .converged: converged += 1
        case .notConverged: notConverged += 1
        case .diverged: diverged += 1
        }
    }
}

/// Something that can run a sample of a DFC network: the ideal ODEs, the behavioral
/// circuit model, or a SPICE netlist. Training, comparison and reports only see this.
public protocol Backend: Sendable {
    var name: String { get }
    /// The weights the backend holds (what `reprogrammed(with:cycle:)` last received).
    var network: Network { get }
    /// The weights that actually act (devices after quantization, noise, faults): what a
    /// feedforward pass of this backend computes, used to evaluate it.
    var effectiveNetwork: Network { get }
    /// Runs `input` (n_0 values) with `labels` (n_L values, the loss's y).
    func run(input: [Double], labels: [Double]) throws -> SampleRun
    /// The summed update of a mini-batch (rows are samples) for `variant` (dfc or dfc-ss families).
    func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate
    /// The same backend holding new weights (devices reprogrammed; `cycle` counts reprogrammings).
    func reprogrammed(with network: Network, cycle: UInt64) throws -> Self
    /// The feedback update of `variant` over a mini-batch: for the DFC variants Eq. 13,
    /// Σ_samples ⟨−v_i^A uᵀ⟩_t − B·β·Q_i from the noise-driven phase (target = feedforward
    /// output); for `ddtp-linear` the difference reconstruction update. Noise from `noiseSeed`.
    /// The variant is the caller's (the trainer's), whatever the backend's configuration names.
    func feedbackUpdate(inputs: Matrix, variant: Variant, noiseSeed: UInt64) throws -> [Matrix]
    /// Whether the feedback phase starts from `effectiveNetwork.forward(inputs)` and that state
    /// depends on W and b alone, so a caller may compute it once while only Q changes
    /// (`FeedforwardStore`). False where a reprogramming that leaves W and b alone could still
    /// change what they realise, or where the backend computes its own feedforward state (a circuit).
    var feedbackStartsFromForward: Bool { get }
    /// `feedbackUpdate(inputs:variant:noiseSeed:)` from a given feedforward state of `inputs`, which
    /// must be `effectiveNetwork.forward(inputs)` (only called when `feedbackStartsFromForward`).
    func feedbackUpdate(inputs: Matrix, feedforward: FeedforwardState, variant: Variant, noiseSeed: UInt64) throws -> [Matrix]
    func feedforwardOutput(_ inputs: Matrix) -> Matrix
    /// What a checkpoint must keep, beyond the requested weights and `cycle`, for a resume to
    /// realise exactly what this backend holds: named tensors, empty for most backends.
    var checkpointState: [String: Matrix] { get }
    /// `reprogrammed(with:cycle:)` for a resume, given the `checkpointState` the checkpoint kept.
    func resumed(with network: Network, cycle: UInt64, state: [String: Matrix]) throws -> Self
}

extension Backend {
    public var feedbackStartsFromForward: Bool { false }

    public var checkpointState: [String: Matrix] { [:] }

    public func resumed(with network: Network, cycle: UInt64, state: [String: Matrix]) throws -> Self {
        guard state.isEmpty else {
            throw ModelError("the checkpoint holds device state (\(state.keys.sorted().prefix(3).joined(separator: ", ")), …) that the \(name) backend does not keep")
        }
        return try reprogrammed(with: network, cycle: cycle)
    }

    /// The output r_L⁻ of the backend's feedforward pass over a batch (rows are samples).
    /// The effective network's unless a backend models more than its weights.
    public func feedforwardOutput(_ inputs: Matrix) -> Matrix { effectiveNetwork.forward(inputs).output }

    /// Loss and accuracy of `feedforwardOutput` over a data set.
    public func evaluate(inputs: Matrix, labels: Matrix, loss: Loss) -> Evaluation {
        Evaluation.of(inputs: inputs, labels: labels, loss: loss) { feedforwardOutput($0) }
    }

    public func feedbackUpdate(inputs: Matrix, feedforward: FeedforwardState, variant: Variant,
                               noiseSeed: UInt64) throws -> [Matrix] {
        try feedbackUpdate(inputs: inputs, variant: variant, noiseSeed: noiseSeed)
    }

    /// Sample by sample through `run`, the plasticity integrated from the traces.
    public func sampleUpdate(input: [Double], labels: [Double], variant: Variant, activations: [Activation],
                             controller: PIController, tolerance: Double) throws -> BatchUpdate {
        let run = try self.run(input: input, labels: labels)
        let u = TracePlasticity.update(run, activations: activations, finalOnly: variant.family == .steadyState)
        var result = BatchUpdate(dW: u.dW, db: u.db)
        result.count(Comparison.verdict(run, controller, tolerance))
        return result
    }
}

/// Trapezoid weights of a (possibly nonuniform) time grid, normalized so that
/// Σ_k w_k x_k is the time average (1/T)∫ x dt; a single point weighs 1.
public func trapezoidWeights(_ t: [Double]) -> [Double] {
    let n = t.count
    guard n > 1 else { return [Double](repeating: 1, count: n) }
    let span = max(t[n - 1] - t[0], .leastNonzeroMagnitude)
    var weights = [Double](repeating: 0, count: n)
    for k in 0..<(n - 1) {
        let h = (t[k + 1] - t[k]) / (2 * span)
        weights[k] += h
        weights[k + 1] += h
    }
    return weights
}

/// The forward plasticity of Eq. 5 from a sample's traces, on any time grid.
public enum TracePlasticity {
    /// (1/T)∫₀ᵀ (φ(v_i) − φ(v_i^B)) r_{i−1}ᵀ dt by the trapezoid rule on the run's own
    /// (possibly nonuniform) grid, for every layer; `finalOnly` takes the last state (Eq. 9 with φ).
    /// `curves` (layer → measured φ) replaces the equation where given.
    public static func update(_ run: SampleRun, activations: [Activation], curves: [Int: TransferCurve] = [:],
                              finalOnly: Bool = false) -> (dW: [Matrix], db: [[Double]]) {
        func phi(_ i: Int, _ v: Matrix) -> Matrix { curves[i].map { c in v.map { c($0) } } ?? activations[i].apply(v) }
        let n = run.time.count
        var weights = trapezoidWeights(run.time)
        if finalOnly {
            weights = [Double](repeating: 0, count: n)
            weights[n - 1] = 1
        }
        var dW: [Matrix] = [], db: [[Double]] = []
        for i in 0..<run.soma.count {
            let rows = run.soma[i].columns
            let d = phi(i, run.soma[i]) - phi(i, run.basal[i])
            // Weighted rows: D_w = diag(w)·D, then ΔW = D_wᵀ · R_{i−1}.
            var dw = d
            for k in 0..<n { for j in 0..<rows { dw[k, j] *= weights[k] } }
            let pre = i == 0 ? Matrix(rows: n, columns: run.input.count) { _, c in run.input[c] } : run.rates[i - 1]
            dW.append(Matrix.product(dw, .transposed, pre, .none))
            db.append(dw.columnSums())
        }
        return (dW, db)
    }
}
