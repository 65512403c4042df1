import LinearAlgebra
import Testing

@Suite("Matrix.addProduct(transposed:_:scale:into:): c += s·bᵀa for a narrow b")
struct NarrowProductTests {
    static func random(_ rows: Int, _ columns: Int, _ g: inout SeededGenerator) -> Matrix {
        Matrix.gaussian(rows: rows, columns: columns, std: 1, using: &g)
    }

    /// The definition, element by element: from c's value, one fused multiply-add chain of
    /// (s·b[r, i])·a[r, j] over the rows r in order.
    static func reference(_ b: Matrix, _ a: Matrix, _ s: Double, _ c: Matrix) -> Matrix {
        var out = c
        for i in 0..<b.columns {
            for j in 0..<a.columns {
                var acc = c[i, j]
                for r in 0..<a.rows { acc = acc.addingProduct(s * b[r, i], a[r, j]) }
                out[i, j] = acc
            }
        }
        return out
    }

    // The feedback plasticity's shapes (64 rows, n_L = 10, n_i = 256 and the 10-unit output
    // layer) and edges: columns not a multiple of 4 or 8, more than the 12 columns of b one
    // block holds, more than the 64 rows of one slice, a single row.
    static let shapes: [(rows: Int, n: Int, m: Int)] = [(64, 256, 10), (64, 10, 10), (13, 33, 7), (1, 1, 1),
                                                        (70, 9, 13), (130, 17, 25), (5, 8, 12)]

    @Test("every feature level gives the fused multiply-add chain of the definition, bit for bit", arguments: [0, 3, 4])
    func levelsMatchDefinition(level: Int) {
        guard level <= VectorMath.kernelLevel else { return }
        var g = SeededGenerator(seed: 91)
        for (rows, n, m) in Self.shapes {
            let a = Self.random(rows, n, &g), b = Self.random(rows, m, &g), start = Self.random(m, n, &g)
            var c = start
            Matrix.addProduct(transposed: b, a, scale: -0.37, into: &c, kernelLevel: level)
            #expect(c == Self.reference(b, a, -0.37, start), "level \(level), \(rows) rows, \(m)×\(n)")
        }
    }

    @Test("the default path agrees with BLAS's c + s·bᵀa to rounding, over many accumulated steps")
    func agreesWithBLAS() {
        var g = SeededGenerator(seed: 92)
        var c = Matrix(rows: 10, columns: 256), expected = c
        var magnitude = Matrix(rows: 10, columns: 256)
        for step in 0..<20 {
            let a = Self.random(64, 256, &g), b = Self.random(64, 10, &g)
            let s = 1 / Double(step + 1)
            Matrix.addProduct(transposed: b, a, scale: s, into: &c)
            expected += Matrix.product(b, .transposed, a, .none) * s
            for i in 0..<10 { for j in 0..<256 { for r in 0..<64 { magnitude[i, j] += abs(s * b[r, i] * a[r, j]) } } }
        }
        for i in 0..<10 {
            for j in 0..<256 {
                // Forward error bound of the 20·64-term sums, both ways: K·ε·Σ|terms|, K = 1 280 + 20.
                #expect(abs(c[i, j] - expected[i, j]) <= 1_300 * Double.ulpOfOne * magnitude[i, j])
            }
        }
        #expect(c.maxAbs > 1)
    }
}
