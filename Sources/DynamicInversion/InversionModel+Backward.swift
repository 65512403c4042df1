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

    /// ΔW_l = −Σ_samples δ_l h_{l−1}ᵀ and Δb_l = −Σ δ_l (Eq. 2), signed to lower the loss.
    public func update(_ pass: BackwardPass, feedforward ff: FeedforwardState) -> (dW: [Matrix], db: [[Double]]) {
        let dW = (0..<network.depth).map { Matrix.product(pass.deltas[$0], .transposed, ff.rates[$0], .none) * -1 }
        let db = (0..<network.depth).map { pass.deltas[$0].columnSums().map { -$0 } }
        return (dW, db)
    }
}
