import DFC
import LinearAlgebra

/// How the feedback matrices start (DI paper, Section 3.2 and 5).
public enum FeedbackInitialization: String, Sendable, Codable, CaseIterable {
    /// Tr-Init: B_l = −W_lᵀ (and B_sl = −J_slᵀ), so W_l B_l = −W_l W_lᵀ is negative semi-definite.
    case transpose = "tr"
    /// R-Init: random B_l made stable before training (see `stabilized`).
    case random = "r"
}

extension InversionModel {
    /// The model for `network` with feedback initialized by `initialization`; random draws
    /// come from `seed`, `alpha` and `margin` set the stability R-Init must reach.
    public static func initialized(network: Network, initialization: FeedbackInitialization, alpha: Double,
                                   margin: Double = 0.05, seed: UInt64) throws -> InversionModel {
        let L = network.depth
        guard L >= 2 else { throw ModelError("dynamic inversion needs at least one hidden layer (sizes \(network.sizes))") }
        var model = try InversionModel(network: network,
                                       feedback: (2...L).map { network.weights[$0 - 1].transposed * -1 },
                                       singleLoopFeedback: Matrix(rows: network.sizes[1], columns: network.outputSize))
        model.singleLoopFeedback = model.singleLoopJacobian.transposed * -1
        guard initialization == .random else { return model }
        var g = SeededGenerator(seed: seed).derived(0xB1)
        for l in 2...L {
            let w = network.weights[l - 1]
            let b = Matrix.gaussian(rows: w.columns, columns: w.rows, std: (2.0 / Double(w.rows + w.columns)).squareRoot(), using: &g)
            model.feedback[l - 2] = try stabilized(b, forward: w, alpha: alpha, margin: margin)
        }
        let j = model.singleLoopJacobian
        let b = Matrix.gaussian(rows: j.columns, columns: j.rows, std: (2.0 / Double(j.rows + j.columns)).squareRoot(), using: &g)
        model.singleLoopFeedback = try stabilized(b, forward: j, alpha: alpha, margin: margin)
        return model
    }

    /// Makes a random feedback matrix stable for the forward matrix W: B − c·Wᵀ with the
    /// smallest c ≥ 0 (by doubling, then bisection to 1 %) such that every eigenvalue of
    /// W (B − c Wᵀ) − α I (Eq. 13) and of the coupled pair's matrix A has real part
    /// ≤ −margin (A decides how fast DI settles; see `InversionLayer.coupledAbscissa`).
    ///
    /// The DI paper optimizes the smoothed spectral abscissa instead; this one-parameter
    /// shift reaches the same guarantee with only eigenvalue computations, and keeps as
    /// much of the random B as stability allows (c = 0 when B is stable already). It needs
    /// W Wᵀ to be positive definite on the unstable directions, which holds when W has
    /// full row rank (d_l ≤ d_{l−1}); otherwise it throws.
    public static func stabilized(_ b: Matrix, forward w: Matrix, alpha: Double, margin: Double) throws -> Matrix {
        func abscissa(_ c: Double) throws -> Double {
            let pair = InversionLayer(weights: w, feedback: b - w.transposed * c, alpha: alpha)
            return max(try pair.maxRealEigenvalue(), try pair.coupledAbscissa())
        }
        if try abscissa(0) <= -margin { return b }
        var hi = max(1e-3, 1.0 / max(w.frobeniusNorm * w.frobeniusNorm, 1e-12))
        var tries = 0
        while try abscissa(hi) > -margin {
            hi *= 2
            tries += 1
            guard tries < 60 else {
                throw ModelError("R-Init: no shift toward −Wᵀ makes W B − α I stable (W is \(w.rows)×\(w.columns)); use Tr-Init or α > 0")
            }
        }
        var lo = 0.0
        while hi - lo > 0.01 * hi {
            let mid = (lo + hi) / 2
            if try abscissa(mid) <= -margin { hi = mid } else { lo = mid }
        }
        return b - w.transposed * hi
    }
}
