import LinearAlgebra

/// The non-DFC learning rules the papers compare against. Each returns the update
/// −∂L/∂W_i (or its stand-in) summed over the batch, so adding it to W decreases
/// the loss, with the configured loss reduction.
extension Network {
    public enum BaselineRule: Sendable {
        /// Exact gradient: δ_i = (δ_{i+1} W_{i+1}) ∘ φ'(v_i).
        case backpropagation
        /// Layer-wise fixed random feedback: δ_i = (δ_{i+1} B_{i+1}ᵀ) ∘ φ'(v_i).
        case feedbackAlignment
        /// Direct feedback from the output error: δ_i = (δ_L Q_iᵀ) ∘ φ'(v_i).
        case directFeedbackAlignment
    }

    /// Runs `rule` on a batch; `lossGradient` is ∂L/∂r_L (batch × n_L).
    public func baselineUpdate(_ rule: BaselineRule, feedforward ff: FeedforwardState,
                               lossGradient: Matrix) throws -> (dW: [Matrix], db: [[Double]]) {
        let L = depth
        if rule == .feedbackAlignment && feedbackAlignment.count != L - 1 {
            throw ModelError("variant fa needs feedback-alignment matrices B2…B\(L) in the model (create it with `dfcspice init`)")
        }
        var deltas = [Matrix](repeating: Matrix(rows: 0, columns: 0), count: L)
        deltas[L - 1] = lossGradient.hadamard(activations[L - 1].derivative(ff.potentials[L - 1], rates: ff.rates[L]))
        var i = L - 2
        while i >= 0 {
            let back: Matrix
            switch rule {
            case .backpropagation: back = Matrix.product(deltas[i + 1], .none, weights[i + 1], .none)
            case .feedbackAlignment: back = Matrix.product(deltas[i + 1], .none, feedbackAlignment[i], .transposed)
            case .directFeedbackAlignment: back = Matrix.product(deltas[L - 1], .none, feedback[i], .transposed)
            }
            deltas[i] = back.hadamard(activations[i].derivative(ff.potentials[i], rates: ff.rates[i + 1]))
            i -= 1
        }
        // −δ_iᵀ r_{i−1} as one product with α = −1: the sign is exact either way, and a
        // separate negation copied every weight-sized matrix once per batch.
        let dW = (0..<L).map { i in
            var w = Matrix(rows: deltas[i].columns, columns: ff.rates[i].columns)
            Matrix.gemm(deltas[i], .transposed, ff.rates[i], .none, alpha: -1, into: &w)
            return w
        }
        let db = (0..<L).map { deltas[$0].columnSums().map { -$0 } }
        return (dW, db)
    }
}
