import LinearAlgebra
import Testing

/// vec(X) of A X + X Aᵀ = C (or Aᵀ X + X A with `transposed`) by one dense solve of the
/// Kronecker system, row-major vec: independent of the Schur route under test.
func kroneckerLyapunov(_ a: Matrix, _ c: Matrix, transposed: Bool) throws -> Matrix {
    let n = a.rows
    let op = transposed ? a.transposed : a
    // (op X)_ij = Σ_k op_ik X_kj and (X opᵀ)_ij = Σ_k X_ik op_jk.
    let k = Matrix(rows: n * n, columns: n * n) { r, s in
        let (i, j) = (r / n, r % n), (p, q) = (s / n, s % n)
        return (j == q ? op[i, p] : 0) + (i == p ? op[j, q] : 0)
    }
    let x = try k.solve(c.storage)
    var m = Matrix(rows: n, columns: n)
    m.storage = x
    return m
}

/// A random n×n matrix shifted so that its spectral abscissa is exactly `abscissa`.
func shiftedGaussian(_ n: Int, abscissa: Double, seed: UInt64) throws -> Matrix {
    var g = SeededGenerator(seed: seed)
    let a = Matrix.gaussian(rows: n, columns: n, std: 1 / Double(n).squareRoot(), using: &g)
    return a - Matrix.identity(n) * (try a.maxRealEigenvalue() - abscissa)
}

@Suite("Lyapunov equations and the smoothed spectral abscissa")
struct LyapunovTests {
    @Test("Schur form: U orthogonal, U T Uᵀ = A, eigenvalues as dgeev's", arguments: [1, 5, 12])
    func schurForm(n: Int) throws {
        var g = SeededGenerator(seed: UInt64(n))
        let a = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
        let f = try a.schur()
        #expect((Matrix.product(f.u, .transposed, f.u, .none) - .identity(n)).maxAbs < 1e-12)
        #expect((Matrix.product(f.u, .none, Matrix.product(f.t, .none, f.u, .transposed), .none) - a).maxAbs < 1e-12)
        #expect(abs(f.spectralAbscissa - (try a.maxRealEigenvalue())) < 1e-12)
    }

    @Test("Bartels–Stewart agrees with the Kronecker solve, both orientations and with a shift")
    func lyapunovAgainstKronecker() throws {
        for n in [1, 4, 9] {
            let a = try shiftedGaussian(n, abscissa: 0.3, seed: UInt64(20 + n))
            var g = SeededGenerator(seed: UInt64(40 + n))
            let c = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
            let form = try a.schur()
            for transposed in [false, true] {
                // At shift 1, A − I has abscissa −0.7: the equation has one solution.
                let x = try form.lyapunov(c, shift: 1, transposed: transposed)
                let reference = try kroneckerLyapunov(a - .identity(n), c, transposed: transposed)
                #expect((x - reference).maxAbs <= 1e-10 * max(1, reference.maxAbs), "n = \(n), transposed \(transposed)")
            }
        }
    }

    @Test("A − sI with eigenvalues that sum to zero is refused, not solved with noise")
    func singularLyapunov() throws {
        let a = Matrix([[1, 0], [0, -1]])!
        #expect(throws: LinearAlgebraError.self) { try a.schur().lyapunov(.identity(2)) }
    }

    @Test("α̃ of λI is λ + ε/2 (tr Q = n / 2(s − λ)), and its gradient is I/n")
    func scalarMatrix() throws {
        for (lambda, epsilon) in [(-0.4, 0.01), (2.0, 0.1)] {
            let r = try (Matrix.identity(6) * lambda).smoothedSpectralAbscissa(epsilon: epsilon)
            #expect(abs(r.value - (lambda + epsilon / 2)) < 1e-10)
            #expect((r.gradient - Matrix.identity(6) * (1.0 / 6)).maxAbs < 1e-10)
        }
    }

    @Test("α̃ bounds α from above and tends to it as ε → 0; its gradient matches central differences")
    func gradientByFiniteDifferences() throws {
        let a = try shiftedGaussian(7, abscissa: -0.2, seed: 3)
        var previous = Double.infinity
        for epsilon in [0.3, 0.1, 0.01, 0.001] {
            let r = try a.smoothedSpectralAbscissa(epsilon: epsilon)
            #expect(r.value > r.spectralAbscissa && r.value < previous, "ε = \(epsilon): \(r.value)")
            previous = r.value
        }
        #expect(previous - (-0.2) < 0.02)
        let r = try a.smoothedSpectralAbscissa(epsilon: 0.05)
        let h = 1e-6
        var worst = 0.0
        for (i, j) in [(0, 0), (2, 5), (6, 1), (3, 3), (4, 6)] {
            var plus = a, minus = a
            plus[i, j] += h
            minus[i, j] -= h
            let fd = (try plus.smoothedSpectralAbscissa(epsilon: 0.05).value - (try minus.smoothedSpectralAbscissa(epsilon: 0.05).value)) / (2 * h)
            worst = max(worst, abs(fd - r.gradient[i, j]))
        }
        #expect(worst < 1e-6 * max(1, r.gradient.maxAbs), "worst |finite difference − gradient| = \(worst)")
    }
}
