import DFC
import LinearAlgebra

/// One layer pair of dynamic inversion (DI paper, Section 3): the leaky integral
/// controller u_l of layer l drives the error population δ_{l−1} of the layer below,
///
///     δ̇_{l−1} = −δ_{l−1} + B_l u_l                (Eq. 5)
///     u̇_l     = −α u_l + W_l δ_{l−1} − δ_l        (Eq. 8)
///
/// with W_l (d_l × d_{l−1}, no bias) and B_l (d_{l−1} × d_l). Rows of every matrix are
/// samples. Time is in units of the population's time constant (1).
public struct InversionLayer: Sendable {
    public var weights: Matrix
    public var feedback: Matrix
    /// The controller's leak α ≥ 0.
    public var alpha: Double

    public init(weights: Matrix, feedback: Matrix, alpha: Double) {
        precondition(feedback.rows == weights.columns && feedback.columns == weights.rows, "B_l must be d_{l−1} × d_l")
        self.weights = weights
        self.feedback = feedback
        self.alpha = alpha
    }

    /// The controller's system matrix at the population's steady state, W_l B_l − α I
    /// (Eq. 13): the pair is linearly stable when every eigenvalue has negative real part.
    public var systemMatrix: Matrix {
        var m = weights * feedback
        for k in 0..<m.rows { m[k, k] -= alpha }
        return m
    }

    /// The largest real part among the eigenvalues of W_l B_l − α I.
    public func maxRealEigenvalue() throws -> Double {
        try systemMatrix.eigenvalues().map(\.re).max() ?? -alpha
    }

    /// The linear system of Eq. 5 and 8 in the state (δ_{l−1}, u_l): A = [[−I, B],[W, −αI]].
    public var coupledMatrix: Matrix {
        let below = weights.columns, above = weights.rows, n = below + above
        var a = Matrix(rows: n, columns: n)
        for i in 0..<below { a[i, i] = -1 }
        for i in 0..<above { a[below + i, below + i] = -alpha }
        for i in 0..<below { for j in 0..<above { a[i, below + j] = feedback[i, j] } }
        for i in 0..<above { for j in 0..<below { a[below + i, j] = weights[i, j] } }
        return a
    }

    /// The eigenvalues of A without forming it. An eigenvector (δ, u) with δ = Bu/(λ + 1)
    /// needs (λ + 1)(λ + α) u = W B u, so each eigenvalue μ of the smaller of B W and W B
    /// gives the two roots of λ² + (1 + α) λ + α − μ = 0. The larger population's extra
    /// directions decay on their own: δ in the null space of W at −1 (contracting layer),
    /// u in the null space of B at −α (expanding layer). An eigenproblem of size
    /// min(d_l, d_{l−1}) instead of d_l + d_{l−1}: 10 instead of 1 010 for 784-1000-10.
    public func coupledEigenvalues() throws -> [Eigenvalue] {
        let above = weights.rows, below = weights.columns
        let small = above <= below ? weights * feedback : feedback * weights
        var out: [Eigenvalue] = []
        let b = 1 + alpha
        for mu in try small.eigenvalues() {
            // Discriminant b² − 4(α − μ) as a complex number, and its principal square root.
            let dr = b * b - 4 * (alpha - mu.re), di = 4 * mu.im
            let modulus = (dr * dr + di * di).squareRoot()
            let sr = ((modulus + dr) / 2).squareRoot()
            let si = (di >= 0 ? 1.0 : -1.0) * ((modulus - dr) / 2).squareRoot()
            out.append(Eigenvalue(re: (-b + sr) / 2, im: si / 2))
            out.append(Eigenvalue(re: (-b - sr) / 2, im: -si / 2))
        }
        let extra = Eigenvalue(re: below > above ? -1 : -alpha, im: 0)
        out += Array(repeating: extra, count: abs(below - above))
        return out
    }

    /// max Re λ(A): how fast the slowest mode of the whole pair settles. Eq. 13's
    /// W B − α I assumes δ_{l−1} is much faster than u_l; with a random B it is not,
    /// and A can settle a hundred times slower than W B − α I suggests.
    public func coupledAbscissa() throws -> Double {
        try coupledEigenvalues().map(\.re).max() ?? -1
    }

    /// The worst relative distance from the controller's fixed point (Eq. 9) over the rows:
    /// max_s ‖readout_s − δ_l,s − α u_s‖ / ‖δ_l,s‖ (NaN counts as ∞). Every backend —
    /// Euler, the single loop, the circuit — judges its end state with this.
    public static func steadyStateResidual(readout: Matrix, target delta: Matrix, u: Matrix, alpha: Double) -> Double {
        var worst = 0.0
        for s in 0..<delta.rows {
            var r = 0.0, n = 0.0
            for j in 0..<delta.columns {
                let x = readout[s, j] - delta[s, j] - alpha * u[s, j]
                r += x * x
                n += delta[s, j] * delta[s, j]
            }
            let rel = n > 0 ? (r / n).squareRoot() : r.squareRoot()
            worst = max(worst, rel.isNaN ? .infinity : rel)
        }
        return worst
    }

    /// The longest forward-Euler step for which the pair still contracts: for every
    /// eigenvalue λ of A, |1 + dt·λ| < 1 ⇔ dt < −2 Re λ / |λ|². Zero when A is not stable.
    public func eulerStepLimit() throws -> Double {
        var limit = Double.infinity
        for e in try coupledEigenvalues() {
            let m2 = e.re * e.re + e.im * e.im
            guard m2 > 0 else { continue }
            if e.re >= 0 { return 0 }
            limit = min(limit, -2 * e.re / m2)
        }
        return limit
    }

    /// The exact steady state (NDI, Eq. 10): δ_{l−1} = B_l (W_l B_l − α I)⁻¹ δ_l, with
    /// u_l = (W_l B_l − α I)⁻¹ δ_l. Throws when W_l B_l − α I is singular (α = 0 with an
    /// expanding layer, d_l > d_{l−1}).
    public func steadyState(target delta: Matrix) throws -> (delta: Matrix, u: Matrix) {
        guard delta.isFinite, weights.isFinite, feedback.isFinite else {
            throw ModelError("dynamic inversion: non-finite errors or weights (the training diverged; lower the learning rate)")
        }
        // Rows are samples: uᵀ = M⁻¹ δᵀ for M = W B − α I.
        let ut: Matrix
        do { ut = try systemMatrix.solve(delta.transposed) } catch {
            throw ModelError("dynamic inversion: W_l B_l − α I is singular (α = \(alpha), d_l = \(weights.rows), d_{l−1} = \(weights.columns)); use α > 0")
        }
        let u = ut.transposed
        return (Matrix.product(u, .none, feedback, .transposed), u)
    }

    /// Forward-Euler integration of Eq. 5 and 8 from δ_{l−1} = 0, u_l = 0 for `steps`
    /// steps of `dt`. Returns the end state and the relative steady-state residual
    /// max over samples of ‖W δ_{l−1} − δ_l − α u‖ / ‖δ_l‖ (0 at the fixed point, Eq. 9).
    ///
    /// The same Euler recursion runs in min(d_l, d_{l−1})-dimensional coordinates: on the
    /// readout W δ for a contracting layer (`simulateContracting`), on δ and a d_{l−1}-dimensional
    /// history of u for an expanding one (`simulateExpanding`).
    public func simulate(target delta: Matrix, dt: Double, steps: Int) -> (delta: Matrix, u: Matrix, residual: Double) {
        if weights.rows < weights.columns { return simulateContracting(target: delta, dt: dt, steps: steps) }
        if weights.rows > weights.columns { return simulateExpanding(target: delta, dt: dt, steps: steps) }
        return simulateFull(target: delta, dt: dt, steps: steps)
    }

    /// The Euler recursion of `simulate` for an expanding layer (d_l > d_{l−1}). From u_0 = 0,
    /// u_{k+1} = (1 − dt α) u_k + dt (W δ_k − δ_l) keeps u_k = W a_k − c_k δ_l with
    ///
    ///     a_{k+1} = (1 − dt α) a_k + dt δ_k   (d_{l−1} values),   c_{k+1} = (1 − dt α) c_k + dt,
    ///
    /// so B u_k = (B W) a_k − c_k (B δ_l) and the whole run costs d_{l−1}² per step instead
    /// of 2 d_l d_{l−1}. u_N = W a_N − c_N δ_l is formed once at the end.
    func simulateExpanding(target delta: Matrix, dt: Double, steps: Int) -> (delta: Matrix, u: Matrix, residual: Double) {
        let coupling = feedback * weights                                       // B W, d_{l−1} × d_{l−1}
        let drivenTarget = Matrix.product(delta, .none, feedback, .transposed)  // (B δ_l)ᵀ per sample
        var state = Matrix(rows: delta.rows, columns: weights.columns)
        var a = state, drive = state
        var c = 0.0
        let keep = 1 - dt, leak = 1 - dt * alpha
        for _ in 0..<steps {
            Matrix.gemm(a, .none, coupling, .transposed, into: &drive)         // (B W a)ᵀ
            for k in 0..<state.storage.count {
                let x = state.storage[k]
                a.storage[k] = leak * a.storage[k] + dt * x
                state.storage[k] = keep * x + dt * (drive.storage[k] - c * drivenTarget.storage[k])
            }
            c = leak * c + dt
        }
        var u = Matrix.product(a, .none, weights, .transposed)
        u.addScaled(delta, -c)
        return settled(state, u, target: delta)
    }

    /// The Euler recursion of `simulate` on the readout y = W δ_{l−1} instead of δ_{l−1}.
    /// Because δ_{l−1} starts at 0 and moves only along B u, the steps
    ///
    ///     δ_{k+1} = (1 − dt) δ_k + dt B u_k,   u_{k+1} = u_k + dt (W δ_k − δ_l − α u_k)
    ///
    /// multiplied by W give y_{k+1} = (1 − dt) y_k + dt (W B) u_k, and δ_N = B z_N with
    /// z_{k+1} = (1 − dt) z_k + dt u_k. The same numbers up to rounding, at d_l² instead of
    /// 2 d_l d_{l−1} per step: 100 instead of 20 000 multiply-adds for 784-1000-10.
    func simulateContracting(target delta: Matrix, dt: Double, steps: Int) -> (delta: Matrix, u: Matrix, residual: Double) {
        let coupling = weights * feedback   // W B, d_l × d_l
        var y = Matrix(rows: delta.rows, columns: weights.rows)
        var u = y, z = y, drive = y
        let keep = 1 - dt
        for _ in 0..<steps {
            Matrix.gemm(u, .none, coupling, .transposed, into: &drive)   // (W B u)ᵀ
            for k in 0..<u.storage.count {
                let uk = u.storage[k]
                z.storage[k] = keep * z.storage[k] + dt * uk
                u.storage[k] = uk + dt * (y.storage[k] - delta.storage[k] - alpha * uk)
                y.storage[k] = keep * y.storage[k] + dt * drive.storage[k]
            }
        }
        return settled(Matrix.product(z, .none, feedback, .transposed), u, target: delta)
    }

    /// An end state with its residual, judged from W δ_{l−1} itself (not from a reduced
    /// readout), so every form of the run is judged on the state it returns.
    func settled(_ state: Matrix, _ u: Matrix, target delta: Matrix) -> (delta: Matrix, u: Matrix, residual: Double) {
        let readout = Matrix.product(state, .none, weights, .transposed)
        return (state, u, Self.steadyStateResidual(readout: readout, target: delta, u: u, alpha: alpha))
    }

    /// The Euler recursion of `simulate` on the full state (δ_{l−1}, u_l).
    func simulateFull(target delta: Matrix, dt: Double, steps: Int) -> (delta: Matrix, u: Matrix, residual: Double) {
        let B = delta.rows
        var state = Matrix(rows: B, columns: weights.columns)
        var u = Matrix(rows: B, columns: weights.rows)
        var drive = state, readout = u
        for _ in 0..<steps {
            Matrix.gemm(u, .none, feedback, .transposed, into: &drive)      // (B_l u)ᵀ
            Matrix.gemm(state, .none, weights, .transposed, into: &readout)  // (W_l δ_{l−1})ᵀ
            for k in 0..<state.storage.count { state.storage[k] += dt * (drive.storage[k] - state.storage[k]) }
            for k in 0..<u.storage.count {
                u.storage[k] += dt * (readout.storage[k] - delta.storage[k] - alpha * u.storage[k])
            }
        }
        return settled(state, u, target: delta)
    }
}
