/// The smoothed spectral abscissa α̃_ε(A) (Vanbiervliet et al. 2009), the quantity
/// Hennequin et al. (2014) descend to make random connectivity stable, and which the DI
/// paper uses for its R-Init feedback. It is the s > α(A) (the spectral abscissa) with
///
///     f(s) = ∫_0^∞ ‖e^{(A − sI)t}‖_F² dt = tr Q(s) = n/ε,   (A − sI)ᵀ Q + Q (A − sI) = −I.
///
/// α̃_ε ≥ α(A), it tends to α(A) as ε → 0 and, unlike α(A), it is smooth in A:
///
///     ∂α̃/∂A = Q P / tr(Q P),   (A − sI) P + P (A − sI)ᵀ = −I,
///
/// since ∂f/∂A = 2 Q P and ∂f/∂s = −2 tr(Q P) at fixed f. The target is n/ε rather than
/// the papers' 1/ε so that the gap α̃ − α stays near ε/2 whatever the size (for A = λI,
/// tr Q = n / (2(s − λ))); non-normal matrices have a larger gap.
public struct SmoothedSpectralAbscissa: Sendable {
    /// α̃_ε(A).
    public var value: Double
    /// ∂α̃/∂A, the same shape as A.
    public var gradient: Matrix
    /// α(A) = max Re λ(A), from the same Schur form.
    public var spectralAbscissa: Double
}

extension Matrix {
    /// α̃_ε(A) and its gradient (see `SmoothedSpectralAbscissa`), s found by Newton steps on
    /// f(s) = n/ε kept inside a bracket that bisection falls back to.
    public func smoothedSpectralAbscissa(epsilon: Double = 0.01) throws -> SmoothedSpectralAbscissa {
        guard epsilon.isFinite, epsilon > 0 else { throw LinearAlgebraError.shapeMismatch("smoothed spectral abscissa needs ε > 0, got \(epsilon)") }
        let form = try schur()
        let n = rows
        if n == 0 { return SmoothedSpectralAbscissa(value: -.infinity, gradient: self, spectralAbscissa: -.infinity) }
        let target = Double(n) / epsilon
        let alpha = form.spectralAbscissa
        let minusIdentity = Matrix.identity(n) * -1

        struct Point { var s: Double; var f: Double; var q: Matrix; var p: Matrix; var traceQP: Double }
        // nil where A − sI is too close to singular for a unique solution: there f is
        // effectively infinite, so such an s belongs to the left of the root.
        func evaluate(_ s: Double) throws -> Point? {
            do {
                let q = try form.lyapunov(minusIdentity, shift: s, transposed: true)
                let p = try form.lyapunov(minusIdentity, shift: s)
                var f = 0.0, qp = 0.0
                for i in 0..<n { f += q[i, i] }
                // tr(Q P) = Σ Q_ij P_ji = Σ Q_ij P_ij: both are symmetric.
                for k in 0..<(n * n) { qp += q.storage[k] * p.storage[k] }
                return f > 0 && qp > 0 ? Point(s: s, f: f, q: q, p: p, traceQP: qp) : nil
            } catch LinearAlgebraError.singular {
                return nil
            }
        }

        var lo = alpha
        var step = max(epsilon / 2, 1e-12 * max(1, abs(alpha)))
        var hi = alpha + step
        var point = try evaluate(hi)
        var doublings = 0
        while point.map({ $0.f > target }) ?? true {
            lo = hi
            step *= 2
            hi = alpha + step
            point = try evaluate(hi)
            doublings += 1
            guard doublings < 200 else { throw LinearAlgebraError.notConverged(routine: "smoothed spectral abscissa (bracket)", info: doublings) }
        }
        guard var best = point else { throw LinearAlgebraError.notConverged(routine: "smoothed spectral abscissa", info: 0) }
        for _ in 0..<200 {
            if abs(best.f - target) <= 1e-12 * target || hi - lo <= 1e-15 * max(1, abs(best.s)) { break }
            // f is convex and decreasing in s: Newton from either side, bisection when a step leaves the bracket.
            var next = best.s - (best.f - target) / (-2 * best.traceQP)
            if !(next > lo && next < hi) { next = (lo + hi) / 2 }
            guard let candidate = try evaluate(next) else { lo = next; continue }
            if candidate.f > target { lo = next } else { hi = next }
            best = candidate
        }
        return SmoothedSpectralAbscissa(value: best.s, gradient: Matrix.product(best.q, .none, best.p, .none) * (1 / best.traceQP),
                                        spectralAbscissa: alpha)
    }
}
