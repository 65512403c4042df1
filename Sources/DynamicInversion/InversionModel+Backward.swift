import DFC
import LinearAlgebra

/// The errors of one backward pass and how well its dynamics settled.
public struct BackwardPass: Sendable {
    /// δ_1 … δ_L (batch × d_l): ∂L/∂a_l for `bp`, its stand-in for the other rules.
    public var deltas: [Matrix]
    /// Per simulated controller (DI: layers L … 2; SLDI: one loop), the worst relative
    /// residual of its steady state; empty for the rules without dynamics.
    public var residuals: [Double]

    public init(deltas: [Matrix], residuals: [Double]) {
        self.deltas = deltas
        self.residuals = residuals
    }

    /// Every simulated controller reached its steady state within `tolerance`.
    public func converged(tolerance: Double) -> Bool { residuals.allSatisfy { $0 <= tolerance } }
}

extension InversionModel {
    /// Runs `rule` backward from the output error δ_L = ∂L/∂a_L (batch × d_L).
    public func backward(_ rule: InversionRule, feedforward ff: FeedforwardState, outputError deltaL: Matrix,
                         parameters p: InversionParameters) throws -> BackwardPass {
        let L = network.depth
        var deltas = [Matrix](repeating: Matrix(rows: 0, columns: 0), count: L)
        deltas[L - 1] = deltaL
        var residuals: [Double] = []
        /// g'(a_{l−1}) of the layer below l.
        func slope(below l: Int) -> Matrix { network.activations[l - 2].derivative(ff.potentials[l - 2]) }
        if rule == .sldi {
            let loop = try singleLoop(target: deltaL, parameters: p)
            for l in 1..<L { deltas[l - 1] = loop.chain[l - 1] }
            residuals.append(loop.residual)
            return BackwardPass(deltas: deltas, residuals: residuals)
        }
        for l in stride(from: L, through: 2, by: -1) {
            let d = deltas[l - 1]
            let w = network.weights[l - 1]
            let back: Matrix
            switch rule {
            case .bp: back = d * w
            case .fa: back = Matrix.product(d, .none, feedback[l - 2], .transposed) * -1
            case .pbp: back = Matrix.product(d, .none, try w.pseudoInverse(), .transposed)
            case .ndi: back = try layer(l, alpha: p.alpha).steadyState(target: d).delta
            case .di:
                let pair = layer(l, alpha: p.alpha)
                let run = pair.simulate(target: d, dt: try p.step(for: pair), steps: p.steps)
                residuals.append(run.residual)
                back = run.delta
            case .sldi: preconditionFailure("handled above")
            }
            deltas[l - 2] = back.hadamard(slope(below: l))
        }
        return BackwardPass(deltas: deltas, residuals: residuals)
    }

    /// SLDI: δ̇_1 = −δ_1 + B_sl u, u̇ = −α u + F(δ_1) − δ_L with F the nonlinear readout
    /// through every layer above the first (Eq. 14 chained), integrated by Euler. The
    /// hidden errors are δ_1 and its readouts δ_l = W_l g(δ_{l−1}) (no ∘ g'(a), as Eq. 16).
    func singleLoop(target deltaL: Matrix, parameters p: InversionParameters) throws -> (chain: [Matrix], residual: Double) {
        var state = Matrix(rows: deltaL.rows, columns: network.sizes[1])
        var u = Matrix(rows: deltaL.rows, columns: network.outputSize)
        var drive = state
        // The step from the loop's linearization at zero error (J_sl, B_sl).
        let dt = try p.step(for: InversionLayer(weights: singleLoopJacobian, feedback: singleLoopFeedback, alpha: p.alpha))
        for _ in 0..<p.steps {
            Matrix.gemm(u, .none, singleLoopFeedback, .transposed, into: &drive)
            let readout = singleLoopReadout(state)[network.depth - 1]
            for k in 0..<state.storage.count { state.storage[k] += dt * (drive.storage[k] - state.storage[k]) }
            for k in 0..<u.storage.count {
                u.storage[k] += dt * (readout.storage[k] - deltaL.storage[k] - p.alpha * u.storage[k])
            }
        }
        let chain = singleLoopReadout(state)
        let worst = InversionLayer.steadyStateResidual(readout: chain[network.depth - 1], target: deltaL, u: u, alpha: p.alpha)
        return (chain, worst)
    }

    /// Eq. 2's step in place: W_l ← W_l − rate·Σ_s δ_l,s h_{l−1},sᵀ, b_l ← b_l − rate·Σ_s δ_l,s.
    /// One accumulating product per layer: online training on 784-1000-10 otherwise spent
    /// most of its time forming, negating and scaling copies of a 1000×784 update.
    public mutating func applyUpdate(_ pass: BackwardPass, feedforward ff: FeedforwardState, rate: Double) {
        for l in 0..<network.depth {
            Matrix.gemm(pass.deltas[l], .transposed, ff.rates[l], .none, alpha: -rate, beta: 1, into: &network.weights[l])
            let sums = pass.deltas[l].columnSums()
            for j in sums.indices { network.biases[l][j] -= rate * sums[j] }
        }
    }

    /// ‖ΔW‖² + ‖Δb‖² of the whole update, without forming ΔW: for ΔW_l = −Σ_s δ_s h_sᵀ,
    /// ‖ΔW_l‖_F² = Σ_{s,t} (δ_s·δ_t)(h_s·h_t), the element-wise product of two Gram matrices.
    public func updateNormSquared(_ pass: BackwardPass, feedforward ff: FeedforwardState) -> Double {
        var total = 0.0
        for l in 0..<network.depth {
            let deltaGram = Matrix.product(pass.deltas[l], .none, pass.deltas[l], .transposed)
            let rateGram = Matrix.product(ff.rates[l], .none, ff.rates[l], .transposed)
            for k in 0..<deltaGram.storage.count { total += deltaGram.storage[k] * rateGram.storage[k] }
            total += pass.deltas[l].columnSums().reduce(0) { $0 + $1 * $1 }
        }
        return total
    }
}
