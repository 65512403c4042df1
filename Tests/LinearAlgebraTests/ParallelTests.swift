import LinearAlgebra
import Testing

@Suite("Parallel products and kernels")
struct ParallelTests {
    @Test("a product large enough to split across cores equals the unsplit product, for every transpose and both split directions",
          arguments: [(300, 40, 200), (40, 300, 200)])
    func splitProduct(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        #expect(2 * m * n * k >= Matrix.parallelFlops)
        var g = SeededGenerator(seed: 11)
        let a = Matrix.gaussian(rows: m, columns: k, std: 1, using: &g)
        let b = Matrix.gaussian(rows: k, columns: n, std: 1, using: &g)
        let c0 = Matrix.gaussian(rows: m, columns: n, std: 1, using: &g)
        // Inside a region nothing splits: the serial reference.
        var reference = c0
        Parallel.forEach(2) { i in
            if i == 0 { Matrix.gemm(a, .none, b, .none, alpha: 0.5, beta: 2, into: &reference) }
        }
        for (ta, tb) in [(Transpose.none, Transpose.none), (.transposed, .none), (.none, .transposed), (.transposed, .transposed)] {
            var c = c0
            Matrix.gemm(ta == .none ? a : a.transposed, ta, tb == .none ? b : b.transposed, tb, alpha: 0.5, beta: 2, into: &c)
            #expect((c - reference).maxAbs <= 1e-11 * reference.maxAbs, "\(ta), \(tb)")
        }
    }

    @Test("Parallel.forEach runs every index once and does not nest")
    func forEachCoversIndices() {
        var hits = [Int](repeating: 0, count: 37)
        var nested = [Bool](repeating: false, count: 37)
        hits.withUnsafeMutableBufferPointer { h in
            nested.withUnsafeMutableBufferPointer { n in
                Parallel.forEach(37) { i in
                    h[i] += 1
                    n[i] = Parallel.isActive
                }
            }
        }
        #expect(hits.allSatisfy { $0 == 1 })
        #expect(nested.allSatisfy { $0 })
        #expect(!Parallel.isActive)
    }

    @Test("rows(at:) gathers rows in the given order")
    func gatherRows() {
        let m = Matrix(rows: 4, columns: 3) { i, j in Double(10 * i + j) }
        let g = m.rows(at: [2, 0, 2])
        #expect(g == Matrix.vstack([m.rows(2..<3), m.rows(0..<1), m.rows(2..<3)]))
    }

    @Test("fillNormal draws the same stream as repeated nextNormal")
    func fillNormalStream() {
        var a = SeededGenerator(seed: 99), b = a
        var buffer = [Double](repeating: 0, count: 100_003)
        a.fillNormal(&buffer, scale: 0.5)
        let reference = (0..<buffer.count).map { _ in 0.5 * b.nextNormal() }
        #expect(buffer == reference)
        #expect(a == b)
    }

    @Test("the Adam kernel equals the textbook update, lane remainder included")
    func adamKernel() {
        var g = SeededGenerator(seed: 5)
        for n in [1, 7, 8, 1001] {
            let d = (0..<n).map { _ in g.nextNormal() }
            var p = (0..<n).map { _ in g.nextNormal() }
            var m = (0..<n).map { _ in 0.1 * g.nextNormal() }
            var v = (0..<n).map { _ in abs(g.nextNormal()) }
            let (p0, m0, v0) = (p, m, v)
            VectorMath.adamStep(&p, m: &m, v: &v, descent: d, clipScale: 0.3, rate: 0.01, secondScale: 2,
                                beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
            for k in 0..<n {
                let grad = -0.3 * d[k]
                let mk = 0.9 * m0[k] + 0.1 * grad, vk = 0.99 * v0[k] + 0.01 * grad * grad
                let pk = p0[k] - 0.01 * mk / ((vk * 2).squareRoot() + 1e-8)
                #expect(abs(m[k] - mk) <= 1e-15 && abs(v[k] - vk) <= 1e-15 && abs(p[k] - pk) <= 1e-14, "n \(n), k \(k)")
            }
        }
    }

    @Test("sumOfSquares and allFinite agree with their definitions")
    func reductions() {
        var g = SeededGenerator(seed: 6)
        let x = (0..<1003).map { _ in g.nextNormal() }
        #expect(abs(VectorMath.sumOfSquares(x) - x.reduce(0) { $0 + $1 * $1 }) <= 1e-10)
        #expect(VectorMath.allFinite(x))
        for bad in [Double.nan, .infinity, -.infinity] {
            var y = x
            y[1001] = bad
            #expect(!VectorMath.allFinite(y))
            y[1001] = 0
            y[3] = bad
            #expect(!VectorMath.allFinite(y))
        }
    }
}
