import DFC
import LinearAlgebra

/// The DI paper's measures (Fig. 3): stability of every controller, agreement of the
/// dynamic errors with the exact ones and with pseudobackprop, and alignment of B with −Wᵀ.
public struct InversionDiagnostics: Sendable, Codable, Equatable {
    /// max Re λ(W_l B_l − α I) for l = 2 … L (Eq. 13), then the SLDI loop's (J_sl B_sl − α I).
    public var maxRealEigenvalues: [Double]
    public var singleLoopMaxRealEigenvalue: Double
    /// Angle (degrees) between B_l and −W_lᵀ, l = 2 … L.
    public var feedbackAngles: [Double]
    /// Angle between the DI and NDI errors of each hidden layer δ_1 … δ_{L−1} (batch concatenated).
    public var angleDIvsNDI: [Double]
    /// Angle between the NDI and PBP errors of each hidden layer.
    public var angleNDIvsPBP: [Double]
    /// Angle between the SLDI and NDI errors of each hidden layer.
    public var angleSLDIvsNDI: [Double]
}

extension InversionModel {
    /// The diagnostics on a probe batch.
    public func diagnostics(feedforward ff: FeedforwardState, outputError deltaL: Matrix,
                            parameters p: InversionParameters) throws -> InversionDiagnostics {
        let L = network.depth
        let eig = try (2...L).map { try layer($0, alpha: p.alpha).maxRealEigenvalue() }
        var loop = singleLoopJacobian * singleLoopFeedback
        for k in 0..<loop.rows { loop[k, k] -= p.alpha }
        let loopEig = try loop.eigenvalues().map(\.re).max() ?? -p.alpha
        let angles = (2...L).map { angleDegrees(feedback[$0 - 2].storage, (network.weights[$0 - 1].transposed * -1).storage) }
        let ndi = try backward(.ndi, feedforward: ff, outputError: deltaL, parameters: p).deltas
        let di = try backward(.di, feedforward: ff, outputError: deltaL, parameters: p).deltas
        let pbp = try backward(.pbp, feedforward: ff, outputError: deltaL, parameters: p).deltas
        let sldi = try backward(.sldi, feedforward: ff, outputError: deltaL, parameters: p).deltas
        func hidden(_ a: [Matrix], _ b: [Matrix]) -> [Double] { (0..<(L - 1)).map { angleDegrees(a[$0].storage, b[$0].storage) } }
        return InversionDiagnostics(maxRealEigenvalues: eig, singleLoopMaxRealEigenvalue: loopEig, feedbackAngles: angles,
                                    angleDIvsNDI: hidden(di, ndi), angleNDIvsPBP: hidden(ndi, pbp), angleSLDIvsNDI: hidden(sldi, ndi))
    }

    /// Checks before a long run: an error for setups that cannot work (α = 0 with an
    /// expanding layer makes W B singular; an unstable controller diverges), warnings for
    /// the merely doubtful (Euler steps too long for the fastest mode).
    public func check(_ rule: InversionRule, parameters p: InversionParameters) throws -> [String] {
        guard p.alpha >= 0, p.alpha.isFinite else { throw ModelError("alpha: must be ≥ 0 and finite, got \(p.alpha)") }
        guard p.dt > 0, p.dt.isFinite, p.steps > 0 else { throw ModelError("dt and steps: must be positive (dt \(p.dt), steps \(p.steps))") }
        let warnings: [String] = []
        let L = network.depth
        switch rule {
        case .ndi, .di:
            for l in 2...L {
                let pair = layer(l, alpha: p.alpha)
                if p.alpha == 0 && network.sizes[l] > network.sizes[l - 1] {
                    throw ModelError("layer \(l): d_l = \(network.sizes[l]) > d_{l−1} = \(network.sizes[l - 1]) makes W_l B_l singular; \(rule.rawValue) needs alpha > 0")
                }
                let eigenvalues = try pair.systemMatrix.eigenvalues()
                let worst = eigenvalues.map(\.re).max() ?? 0
                let coupled = try pair.coupledAbscissa()
                if rule == .di && max(worst, coupled) >= 0 {
                    throw ModelError("layer \(l): the controller is unstable (max Re λ(W B − α I) = \(worst)); initialize B with Tr-Init or R-Init, or raise alpha")
                }
                if rule == .ndi && eigenvalues.contains(where: { abs($0.re) < 1e-12 && abs($0.im) < 1e-12 }) {
                    throw ModelError("layer \(l): W_l B_l − α I is singular; raise alpha")
                }
                if rule == .di && !p.adaptiveStep {
                    let limit = try pair.eulerStepLimit()
                    if p.dt >= limit {
                        throw ModelError("layer \(l): dt = \(p.dt) makes forward Euler diverge (limit \(limit)); use dt < \(limit) or adaptiveStep")
                    }
                }
            }
        case .sldi:
            var loop = singleLoopJacobian * singleLoopFeedback
            for k in 0..<loop.rows { loop[k, k] -= p.alpha }
            let worst = try loop.eigenvalues().map(\.re).max() ?? 0
            if worst >= 0 {
                throw ModelError("the single loop is unstable at zero error (max Re λ = \(worst)); initialize B with Tr-Init or R-Init, or raise alpha")
            }
        case .bp, .fa, .pbp:
            break
        }
        return warnings
    }
}
