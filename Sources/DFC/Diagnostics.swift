import LinearAlgebra

/// The DFC paper's measures of a batch update (Fig. 3 and App. F.1), the numbers a
/// user judges a run by. Angles are in degrees between whole-network updates
/// (every W_i and b_i concatenated).
public struct Diagnostics: Sendable, Codable, Equatable {
    /// Angle to the backpropagation update −∇L.
    public var angleToBP: Double
    /// Angle to the Gauss–Newton update (Eq. 7 with a minibatch of one, as Theorem 2
    /// states it, summed over the batch; θ = all W_i, b_i).
    public var angleToGN: Double
    /// Angle to the weighted minimum-norm update of Theorem 3, written with Eq. 9's
    /// presynaptic factor: Σ_samples z_i r̃_{i−1}ᵀ with z = J⁺δ_L, r̃ = [r; 1].
    public var angleToMN: Double
    /// Angle to the `dfc-ssa` update of the same batch (Fig. 3F); nil for SSA itself and baselines.
    public var angleToSSA: Double?
    /// Condition 1: std/mean of ‖r_0‖ … ‖r_{L−1}‖, averaged over samples (0 = satisfied).
    public var condition1: Double
    /// Condition 2: ‖J⁺J Q‖_F / ‖Q‖_F, the share of Q in the row space of J, averaged (1 = satisfied).
    public var condition2: Double
    /// Condition 3: the smallest real part of the eigenvalues of J Q over the samples;
    /// the condition holds where it exceeds −α̃.
    public var condition3MinRealEigenvalue: Double
    /// Fraction of samples for which Condition 3 holds.
    public var condition3Fraction: Double
    /// Largest real part of the eigenvalues of the linearized closed loop (v, u_int)
    /// at the end state, over the samples: negative means locally stable (Fig. 3E).
    public var maxRealEigenvalue: Double
    /// How many samples the per-sample measures used.
    public var samples: Int
}

/// Flattens an update into one vector: for each layer, W_i row-major then b_i.
public func flattenUpdate(_ dW: [Matrix], _ db: [[Double]]) -> [Double] {
    var out: [Double] = []
    for i in 0..<dW.count {
        out += dW[i].storage
        out += db[i]
    }
    return out
}

extension Network {
    /// r̃ = [r; 1] for every sample (batch × (n+1)): the presynaptic vector that makes b a column of W.
    static func augmented(_ r: Matrix) -> Matrix {
        Matrix.hstack([r, Matrix(rows: r.rows, columns: 1, repeating: 1)])
    }

    /// Splits a layer's augmented update (n_i × (n_{i−1}+1)) into ΔW_i and Δb_i.
    static func split(_ augmented: Matrix) -> (Matrix, [Double]) {
        (augmented.columns(0..<(augmented.columns - 1)), augmented.column(augmented.columns - 1))
    }

    /// Gauss–Newton with a minibatch of one (Theorem 2), summed over the batch:
    /// per sample Δθ = J_θ⁺ δ_L with θ = all (W_i, b_i). Since J_θ's rows are
    /// ∂r_{L,k}/∂W_i = (J_i)_k r̃_{i−1}ᵀ, J_θ J_θᵀ = Σ_i ‖r̃_{i−1}‖² J_i J_iᵀ (n_L × n_L) and
    /// ΔW̃_i = J_iᵀ c r̃_{i−1}ᵀ with c = (J_θ J_θᵀ)⁺ δ_L — θ's size never matters.
    public func gaussNewtonUpdate(feedforward ff: FeedforwardState, delta: Matrix) throws -> (dW: [Matrix], db: [[Double]]) {
        try perSampleMinimumNorm(feedforward: ff, delta: delta, weightByPresynapticNorm: true)
    }

    /// The weighted minimum-norm update of Theorem 3 in Eq. 9's form:
    /// per sample z = J⁺ δ_L (the smallest Δv reaching the target to first order),
    /// ΔW̃_i = Σ_samples z_i r̃_{i−1}ᵀ. It equals the GN update when all ‖r̃_{i−1}‖
    /// are equal (Condition 1).
    public func minimumNormUpdate(feedforward ff: FeedforwardState, delta: Matrix) throws -> (dW: [Matrix], db: [[Double]]) {
        try perSampleMinimumNorm(feedforward: ff, delta: delta, weightByPresynapticNorm: false)
    }

    /// Σ_samples J_iᵀ c r̃_{i−1}ᵀ with c = (Σ_i w_i J_i J_iᵀ)⁺ δ_L, w_i = ‖r̃_{i−1}‖² or 1.
    func perSampleMinimumNorm(feedforward ff: FeedforwardState, delta: Matrix,
                              weightByPresynapticNorm: Bool) throws -> (dW: [Matrix], db: [[Double]]) {
        let B = delta.rows, L = depth, nL = outputSize
        var augmentedUpdates = (0..<L).map { Matrix(rows: weights[$0].rows, columns: weights[$0].columns + 1) }
        for a in 0..<B {
            let js = layerJacobians(at: ff.potentials, sample: a)
            let presynaptic = (0..<L).map { Matrix(row: ff.rates[$0].row(a) + [1]) }
            var kernel = Matrix(rows: nL, columns: nL)
            for i in 0..<L {
                let w = weightByPresynapticNorm ? presynaptic[i].storage.reduce(0) { $0 + $1 * $1 } : 1
                Matrix.gemm(js[i], .none, js[i], .transposed, alpha: w, beta: 1, into: &kernel)
            }
            let c = Matrix.product(try kernel.pseudoInverse(rcond: 1e-12), .none, Matrix(column: delta.row(a)), .none)
            for i in 0..<L {
                let z = Matrix.product(js[i], .transposed, c, .none)                       // n_i × 1
                Matrix.gemm(z, .none, presynaptic[i], .none, beta: 1, into: &augmentedUpdates[i])
            }
        }
        let parts = augmentedUpdates.map(Network.split)
        return (parts.map(\.0), parts.map(\.1))
    }

    /// The linearized closed loop of (v, u_int) at potentials `v` for sample s:
    ///
    ///     τ_v d(δv)/dt = (−I + A − k_p Q C) δv + Q δu_int
    ///     τ_u d(δu_int)/dt = −c C δv − α δu_int
    ///
    /// with A the block sub-diagonal W_i D_{i−1}, C = [0 … D_L] and c = 1 for the
    /// paper's leak, 1 − α k_p for the code's leak of the total u.
    public func closedLoopMatrix(at v: [Matrix], sample s: Int, controller: PIController, tauV: Double) -> Matrix {
        let sizes = self.sizes
        let n = hiddenTotal, nL = outputSize
        var offsets = [0]
        for i in 1..<sizes.count { offsets.append(offsets[i - 1] + sizes[i]) }
        var m = Matrix(rows: n + nL, columns: n + nL)
        let derivatives = (0..<depth).map { i in v[i].row(s).map { activations[i].derivative($0) } }
        for k in 0..<n { m[k, k] = -1 / tauV }
        for i in 1..<depth {
            for r in 0..<sizes[i + 1] {
                for c in 0..<sizes[i] {
                    m[offsets[i] + r, offsets[i - 1] + c] += weights[i][r, c] * derivatives[i - 1][c] / tauV
                }
            }
        }
        let q = stackedFeedback
        let outOffset = offsets[depth - 1]
        let leakFactor = controller.leak == .integral ? 1 : 1 - controller.alpha * controller.kp
        for row in 0..<n {
            for k in 0..<nL {
                // −k_p Q C: C picks D_L on the output block.
                m[row, outOffset + k] -= controller.kp * q[row, k] * derivatives[depth - 1][k] / tauV
                m[row, n + k] = q[row, k] / tauV
            }
        }
        for k in 0..<nL {
            m[n + k, outOffset + k] = -leakFactor * derivatives[depth - 1][k] / controller.tauU
            m[n + k, n + k] = -controller.alpha / controller.tauU
        }
        return m
    }
}

extension Solver {
    /// Computes the diagnostics of `solution` (which `solve` returned for this batch).
    public func diagnostics(for solution: Solution, input: Matrix, labels: Matrix) throws -> Diagnostics {
        let ff = solution.feedforward
        let update = flattenUpdate(solution.dW, solution.db)
        let g = configuration.loss.gradient(ff.output, labels, reduction: configuration.conventions.lossReduction)
        let bp = try network.baselineUpdate(.backpropagation, feedforward: ff, lossGradient: g)
        let gn = try network.gaussNewtonUpdate(feedforward: ff, delta: solution.delta)
        let mn = try network.minimumNormUpdate(feedforward: ff, delta: solution.delta)
        var angleToSSA: Double? = nil
        if solution.variant.isDFC && solution.variant.family != .analytic {
            let ssa = try SteadyStateApproximation(network: network, feedforward: ff, delta: solution.delta,
                                                   effectiveLeak: configuration.controller.effectiveLeak,
                                                   propagation: configuration.conventions.ssaPropagation)
            let ssaUpdate = ssa.update(network: network, input: input)
            angleToSSA = angleDegrees(update, flattenUpdate(ssaUpdate.dW, ssaUpdate.db))
        }

        let m = min(configuration.diagnosticSamples, input.rows)
        let controller = configuration.controller
        let alphaTilde = controller.effectiveLeak
        let q = network.stackedFeedback
        let qNorm = q.frobeniusNorm
        var c1 = 0.0, c2 = 0.0, minEig = Double.infinity, holds = 0, maxEig = -Double.infinity
        for s in 0..<m {
            let norms = (0..<network.depth).map { i in ff.rates[i].row(s).reduce(0) { $0 + $1 * $1 }.squareRoot() }
            let mean = norms.reduce(0, +) / Double(norms.count)
            let variance = norms.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(norms.count)
            c1 += mean > 0 ? variance.squareRoot() / mean : 0

            let j = network.jacobian(at: ff.potentials, sample: s)
            let jq = Matrix.product(j, .none, q, .none)
            let projected = Matrix.product(try j.pseudoInverse(), .none, jq, .none)
            c2 += qNorm > 0 ? projected.frobeniusNorm / qNorm : 0

            // Condition 3 uses J at the end state (J_ss), as the paper states it.
            let jss = network.jacobian(at: solution.soma, sample: s)
            let eig = try Matrix.product(jss, .none, q, .none).eigenvalues().map(\.re).min() ?? 0
            minEig = min(minEig, eig)
            if eig > -alphaTilde { holds += 1 }
            let loop = network.closedLoopMatrix(at: solution.soma, sample: s, controller: controller,
                                                tauV: configuration.control.tauV)
            maxEig = max(maxEig, try loop.maxRealEigenvalue())
        }
        return Diagnostics(
            angleToBP: angleDegrees(update, flattenUpdate(bp.dW, bp.db)),
            angleToGN: angleDegrees(update, flattenUpdate(gn.dW, gn.db)),
            angleToMN: angleDegrees(update, flattenUpdate(mn.dW, mn.db)),
            angleToSSA: angleToSSA,
            condition1: c1 / Double(m), condition2: c2 / Double(m),
            condition3MinRealEigenvalue: minEig, condition3Fraction: Double(holds) / Double(m),
            maxRealEigenvalue: maxEig, samples: m)
    }
}
