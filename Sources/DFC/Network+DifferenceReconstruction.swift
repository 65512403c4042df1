import LinearAlgebra

extension Network {
    /// The feedback update of DDTP-linear (Meulemans et al. 2020, "A theoretical framework
    /// for target propagation"), which the DFC paper's published code uses for its "DFA" row.
    ///
    /// For each hidden layer i < L, every sample's rates are perturbed, r̃_i = r_i + σξ with
    /// ξ ~ N(0, I), and carried forward to the linear output, ã_L = W_L φ(… W_{i+1} r̃_i …) + b_L
    /// (the last layer's potential, before its activation). The difference reconstruction loss
    ///
    ///     ℒ_i = (1/σ²)·(1/n_i)·Σ_s ‖Q_i (ã_L − a_L⁻)_s − σξ_s‖²
    ///
    /// asks Q_i to map the output's change back onto the perturbation that caused it; for small
    /// σ its minimiser is Q_i = J_i⁺, the pseudo-inverse of ∂a_L/∂r_i (for n_i ≥ n_L), so that
    /// DFA's δ_i = φ'(v_i)∘(Q_i g) becomes a Gauss–Newton-like target.
    ///
    /// Returns −∂ℒ_i/∂Q_i = −(2/(σ² n_i))·Σ_s (Q_i Δa_s − σξ_s) Δa_sᵀ per hidden layer (summed
    /// over the batch like every update here; `updateScale: publishedMean` divides by B, which
    /// gives the published code's batch-mean gradient) and zeros for Q_L, which DFA never reads.
    /// Layer i draws its ξ from `generator.derived(i)`; `generator` advances by one draw.
    public func differenceReconstructionUpdate(feedforward ff: FeedforwardState, sigma: Double,
                                               generator: inout SeededGenerator) -> [Matrix] {
        let L = depth
        let batch = ff.potentials[0].rows
        let outputPotential = ff.potentials[L - 1]
        var updates = feedback.map { Matrix(rows: $0.rows, columns: $0.columns) }
        for i in 0..<(L - 1) {
            var g = generator.derived(UInt64(i))
            let xi = Matrix.gaussian(rows: batch, columns: weights[i].rows, std: 1, using: &g)
            // Carry r̃_i forward; the loop ends with the output layer's potential.
            var rates = ff.rates[i + 1] + xi * sigma
            var potential = Matrix(rows: 0, columns: 0)
            for k in (i + 1)..<L {
                potential = Matrix(rows: batch, columns: weights[k].rows)
                basal(layer: k, rates, into: &potential)
                if k < L - 1 { rates = activations[k].apply(potential) }
            }
            let change = potential - outputPotential
            // Residual of the reconstruction, Q_i Δa − σξ, one row per sample.
            var residual = xi * -sigma
            Matrix.gemm(change, .none, feedback[i], .transposed, beta: 1, into: &residual)
            Matrix.gemm(residual, .transposed, change, .none, alpha: -2 / (sigma * sigma * Double(weights[i].rows)),
                        into: &updates[i])
        }
        _ = generator.next()
        return updates
    }
}
