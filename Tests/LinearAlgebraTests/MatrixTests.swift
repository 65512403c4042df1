import LinearAlgebra
import Testing

/// Reference product by the definition, for checking the BLAS path.
func naiveProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
    Matrix(rows: a.rows, columns: b.columns) { i, j in
        (0..<a.columns).reduce(0) { $0 + a[i, $1] * b[$1, j] }
    }
}

func close(_ a: Matrix, _ b: Matrix, _ tol: Double) -> Bool {
    a.rows == b.rows && a.columns == b.columns && (a - b).maxAbs <= tol
}

@Suite("Matrix")
struct MatrixTests {
    @Test("gemm matches the definition for every transpose combination and accumulates with beta")
    func gemmTransposes() {
        var g = SeededGenerator(seed: 1)
        let a = Matrix.gaussian(rows: 5, columns: 7, std: 1, using: &g)
        let b = Matrix.gaussian(rows: 7, columns: 3, std: 1, using: &g)
        let ref = naiveProduct(a, b)
        #expect(close(Matrix.product(a, .none, b, .none), ref, 1e-12))
        #expect(close(Matrix.product(a.transposed, .transposed, b, .none), ref, 1e-12))
        #expect(close(Matrix.product(a, .none, b.transposed, .transposed), ref, 1e-12))
        #expect(close(Matrix.product(a.transposed, .transposed, b.transposed, .transposed), ref, 1e-12))
        var c = Matrix(rows: 5, columns: 3, repeating: 1)
        Matrix.gemm(a, .none, b, .none, alpha: 2, beta: 0.5, into: &c)
        #expect(close(c, ref * 2 + Matrix(rows: 5, columns: 3, repeating: 0.5), 1e-12))
    }

    @Test("gemv matches gemm on a column")
    func gemv() {
        var g = SeededGenerator(seed: 2)
        let a = Matrix.gaussian(rows: 4, columns: 6, std: 1, using: &g)
        let x = (0..<6).map { Double($0) - 2.5 }
        let y = a.times(x)
        let ref = naiveProduct(a, Matrix(column: x)).storage
        for k in 0..<4 { #expect(abs(y[k] - ref[k]) < 1e-12) }
        let z = a.times([1, 2, 3, 4], .transposed)
        let refT = naiveProduct(a.transposed, Matrix(column: [1, 2, 3, 4])).storage
        for k in 0..<6 { #expect(abs(z[k] - refT[k]) < 1e-12) }
    }

    @Test("solve leaves a tiny residual and refuses singular or non-finite systems")
    func solve() throws {
        var g = SeededGenerator(seed: 3)
        let a = Matrix.gaussian(rows: 6, columns: 6, std: 1, using: &g) + Matrix.identity(6) * 3
        let b = Matrix.gaussian(rows: 6, columns: 2, std: 1, using: &g)
        let x = try a.solve(b)
        #expect(close(a * x, b, 1e-12))
        let singular = Matrix([[1, 2], [2, 4]])!
        #expect(throws: LinearAlgebraError.singular(routine: "dgesv")) { try singular.solve([1, 1]) }
        var bad = a
        bad[0, 0] = .nan
        #expect(throws: LinearAlgebraError.nonFinite(routine: "dgesv")) { try bad.solve(b) }
    }

    @Test("eigenvalues of a rotation, a triangular and a companion matrix")
    func eigenvalues() throws {
        let rotation = Matrix([[0, -2], [2, 0]])!
        let r = try rotation.eigenvalues().sorted { $0.im < $1.im }
        #expect(abs(r[0].re) < 1e-14 && abs(r[0].im + 2) < 1e-14)
        #expect(abs(r[1].im - 2) < 1e-14)
        let triangular = Matrix([[1, 5, 7], [0, -3, 2], [0, 0, 0.5]])!
        #expect(try triangular.eigenvalues().map(\.re).sorted() == [-3, 0.5, 1])
        // x³ − 6x² + 11x − 6 = (x−1)(x−2)(x−3)
        let companion = Matrix([[6, -11, 6], [1, 0, 0], [0, 1, 0]])!
        let roots = try companion.eigenvalues().map(\.re).sorted()
        for (x, y) in zip(roots, [1.0, 2, 3]) { #expect(abs(x - y) < 1e-12) }
        #expect(abs(try companion.maxRealEigenvalue() - 3) < 1e-12)
    }

    @Test("SVD reconstructs and the pseudo-inverse satisfies the Moore–Penrose conditions")
    func svdAndPseudoInverse() throws {
        var g = SeededGenerator(seed: 4)
        // Rank 2 in a 5×4 matrix.
        let a = Matrix.gaussian(rows: 5, columns: 2, std: 1, using: &g) * Matrix.gaussian(rows: 2, columns: 4, std: 1, using: &g)
        let d = try a.svd()
        var us = d.u
        for i in 0..<us.rows { for j in 0..<us.columns { us[i, j] *= d.singularValues[j] } }
        #expect(close(us * d.vt, a, 1e-12))
        #expect(try a.rank() == 2)
        let p = try a.pseudoInverse()
        #expect(close(a * p * a, a, 1e-11))
        #expect(close(p * a * p, p, 1e-11))
        #expect(close((a * p).transposed, a * p, 1e-11))
        #expect(close((p * a).transposed, p * a, 1e-11))
    }

    @Test("angles are accurate near 0° and handle zero vectors")
    func angles() {
        #expect(abs(angleDegrees([1, 0], [0, 3]) - 90) < 1e-12)
        #expect(abs(angleDegrees([1, 0], [-1, 0]) - 180) < 1e-12)
        let tiny = 1e-9
        // acos(cos θ) would return 0 here; the true angle is 1e-9 rad.
        #expect(abs(angleDegrees([1, 0], [1, tiny]) - tiny * 180 / .pi) < 1e-20)
        #expect(angleDegrees([0, 0], [0, 0]) == 0)
        #expect(angleDegrees([0, 0], [1, 0]) == 90)
    }

    @Test("the seeded generator repeats, and its normals have mean 0 and variance 1")
    func generator() {
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
        var g = SeededGenerator(seed: 10)
        let n = 200_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n { let x = g.nextNormal(); s += x; s2 += x * x }
        #expect(abs(s / Double(n)) < 0.01)
        #expect(abs(s2 / Double(n) - 1) < 0.01)
        #expect(SeededGenerator(seed: 1).derived(1) != SeededGenerator(seed: 1).derived(2))
    }
}

@Suite("Normal draws")
struct NormalDrawTests {
    @Test("ziggurat normals: moments and tail fractions of N(0, 1) within their sampling error")
    func moments() {
        var g = SeededGenerator(seed: 77)
        let n = 2_000_000
        var s1 = 0.0, s2 = 0.0, s4 = 0.0, beyond2 = 0, beyond3 = 0, beyond4 = 0
        for _ in 0..<n {
            let x = g.nextNormal()
            s1 += x; s2 += x * x; s4 += x * x * x * x
            let a = abs(x)
            if a > 2 { beyond2 += 1 }
            if a > 3 { beyond3 += 1 }
            if a > 4 { beyond4 += 1 }
        }
        let N = Double(n)
        #expect(abs(s1 / N) < 5 / N.squareRoot())                    // σ/√n = 7e-4
        #expect(abs(s2 / N - 1) < 5 * (2 / N).squareRoot())
        #expect(abs(s4 / N - 3) < 5 * (96 / N).squareRoot())           // Var(x⁴) = 105 − 9
        // P(|x| > k) = erfc(k/√2): 0.0455003, 0.0026998, 6.334e-5.
        for (count, p) in [(beyond2, 0.0455003), (beyond3, 0.0026998), (beyond4, 6.334e-5)] {
            let expected = p * N
            #expect(abs(Double(count) - expected) < 5 * expected.squareRoot(), "\(count) beyond, expected \(expected)")
        }
    }
}
