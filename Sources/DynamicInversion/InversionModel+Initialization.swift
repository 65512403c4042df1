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

    /// Makes a random feedback matrix stable for the forward matrix W, as the DI paper does
    /// (Section 5, after Hennequin et al. 2014): gradient descent on B of a smoothed spectral
    /// abscissa, until every eigenvalue of W B − α I (Eq. 13) and of the coupled pair's
    /// matrix A (δ_{l−1} and u_l together, `InversionLayer.coupledMatrix`) has real part
    /// ≤ −margin, and the smoothed abscissa itself is ≤ −margin (Hennequin et al. descend to a
    /// target α̃). A B that is stable already is returned as it is.
    ///
    /// The descent is on α̃_ε(R) for R = [[−αI, I], [M, −I]] with M = W B (or B W when the
    /// layer expands, whichever is smaller): R has the eigenvalues μ of (μ + α)(μ + 1) = λ(M),
    /// the coupled pair's nontrivial spectrum, without its d_l + d_{l−1} size. Descending
    /// Eq. 13's W B − α I alone is not enough: it pushes Re λ left while Im λ grows, and the
    /// pair oscillates out of stability (seen on 30-20-10-10). For real λ, R stable to the
    /// margin implies Eq. 13 stable to it. ∂α̃/∂B = Wᵀ G₂₁ (or G₂₁ Wᵀ), G₂₁ the lower-left
    /// block of ∂α̃/∂R.
    ///
    /// Steps are backtracking: each is accepted only if α̃ falls, and its size grows by 1.2
    /// after a success and halves after a failure, starting at 2 % of ‖B‖_F. When
    /// d_l > d_{l−1}, W B has d_l − d_{l−1} zero eigenvalues that no B moves, so α ≥ margin
    /// is needed; otherwise it throws.
    public static func stabilized(_ b: Matrix, forward w: Matrix, alpha: Double, margin: Double,
                                  epsilon: Double = 0.01, maxSteps: Int = 2000) throws -> Matrix {
        func stable(_ b: Matrix) throws -> Bool {
            let pair = InversionLayer(weights: w, feedback: b, alpha: alpha)
            return try pair.maxRealEigenvalue() <= -margin && pair.coupledAbscissa() <= -margin
        }
        if try stable(b) { return b }
        let contracting = w.rows <= w.columns
        if !contracting && alpha < margin {
            throw ModelError("R-Init: W is \(w.rows)×\(w.columns), so W B has \(w.rows - w.columns) zero eigenvalues no B can move; α = \(alpha) must be ≥ the margin \(margin) (or use Tr-Init)")
        }
        let n = min(w.rows, w.columns)
        func ssa(_ b: Matrix) throws -> SmoothedSpectralAbscissa {
            let m = contracting ? Matrix.product(w, .none, b, .none) : Matrix.product(b, .none, w, .none)
            let r = Matrix(rows: 2 * n, columns: 2 * n) { i, j in
                switch (i < n, j < n) {
                case (true, true): i == j ? -alpha : 0
                case (true, false): j - n == i ? 1 : 0
                case (false, true): m[i - n, j]
                case (false, false): i == j ? -1 : 0
                }
            }
            return try r.smoothedSpectralAbscissa(epsilon: epsilon)
        }
        func direction(_ value: SmoothedSpectralAbscissa) -> Matrix {
            let g21 = Matrix(rows: n, columns: n) { i, j in value.gradient[n + i, j] }
            return contracting ? Matrix.product(w, .transposed, g21, .none) : Matrix.product(g21, .none, w, .transposed)
        }
        var current = b
        var value = try ssa(current)
        var stepNorm = 0.02 * max(current.frobeniusNorm, 1e-12)
        for _ in 0..<maxSteps {
            let g = direction(value)
            let gNorm = g.frobeniusNorm
            guard gNorm > 0, gNorm.isFinite else { break }
            let trial = current - g * (stepNorm / gNorm)
            let next = try ssa(trial)
            if next.value < value.value {
                current = trial
                value = next
                stepNorm *= 1.2
                // α̃ ≥ α: stopping on α̃ rather than on the spectra leaves the slack that
                // keeps the pair stable while W trains (stopping at the spectral margin
                // alone lost it within one epoch on the nonlinear regression task).
                if value.value <= -margin, try stable(current) { return current }
            } else {
                stepNorm *= 0.5
                guard stepNorm > 1e-14 * max(current.frobeniusNorm, 1e-12) else { break }
            }
        }
        throw ModelError("R-Init: smoothed-spectral-abscissa descent did not make the layer pair stable to −\(margin) (reached α̃ = \(value.value)); use Tr-Init, a larger α or a smaller margin")
    }
}
