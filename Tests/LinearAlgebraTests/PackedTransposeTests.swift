import Foundation
import LinearAlgebra
import Testing

@Suite("PackedTranspose: C = A·Bᵀ + bias with B packed once")
struct PackedTransposeTests {
    static func random(_ rows: Int, _ columns: Int, _ g: inout SeededGenerator) -> Matrix {
        Matrix.gaussian(rows: rows, columns: columns, std: 1, using: &g)
    }

    /// The definition, element by element: one fused multiply-add chain over k in order
    /// from zero, then the bias.
    static func reference(_ a: Matrix, _ b: Matrix, _ bias: [Double]?) -> Matrix {
        var c = Matrix(rows: a.rows, columns: b.rows)
        for i in 0..<a.rows {
            for j in 0..<b.rows {
                var s = 0.0
                for k in 0..<a.columns { s = s.addingProduct(a[i, k], b[j, k]) }
                c[i, j] = bias.map { s + $0[j] } ?? s
            }
        }
        return c
    }

    // The dynamics' shapes (64 × 256 × 256, Q u with k = 10, the 10-unit output layer),
    // and edges: rows not a multiple of any tile, columns not a multiple of 16, k = 1, and
    // k = 600, which the kernel takes in slices of 128 (AVX2) or 256.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(64, 256, 256), (64, 256, 10), (64, 10, 256),
                                                      (13, 33, 7), (1, 1, 1), (9, 17, 1), (30, 16, 5), (19, 40, 600)]

    @Test("every feature level gives the fused multiply-add chain of the definition, bit for bit", arguments: [0, 3, 4])
    func levelsMatchDefinition(level: Int) {
        guard level <= VectorMath.kernelLevel else { return }
        var g = SeededGenerator(seed: 77)
        for (m, n, k) in Self.shapes {
            let a = Self.random(m, k, &g), b = Self.random(n, k, &g)
            let bias = (0..<n).map { _ in g.nextNormal() }
            let packed = PackedTranspose(b)
            for withBias in [false, true] {
                var c = Matrix(rows: m, columns: n, repeating: .nan)
                Matrix.multiply(a, transposed: packed, bias: withBias ? bias : nil, into: &c, kernelLevel: level)
                #expect(c == Self.reference(a, b, withBias ? bias : nil), "level \(level), \(m)×\(n)×\(k), bias \(withBias)")
            }
        }
    }

    @Test("the default path agrees with BLAS's a·bᵀ + bias to rounding, and k = 0 gives the bias")
    func agreesWithBLAS() {
        var g = SeededGenerator(seed: 78)
        for (m, n, k) in Self.shapes {
            let a = Self.random(m, k, &g), b = Self.random(n, k, &g)
            let bias = (0..<n).map { _ in g.nextNormal() }
            var c = Matrix(rows: m, columns: n)
            Matrix.multiply(a, transposed: PackedTranspose(b), bias: bias, into: &c)
            var expected = Matrix.product(a, .none, b, .transposed)
            expected.addRowVector(bias)
            for i in 0..<m {
                for j in 0..<n {
                    // Forward error bound of a k-term dot product: k·ε·Σ|a||b|.
                    let scale = (0..<k).reduce(0.0) { $0 + abs(a[i, $1] * b[j, $1]) } + abs(bias[j])
                    #expect(abs(c[i, j] - expected[i, j]) <= Double(k + 1) * Double.ulpOfOne * scale)
                }
            }
        }
        let empty = Matrix(rows: 3, columns: 0)
        var c = Matrix(rows: 3, columns: 2, repeating: .nan)
        Matrix.multiply(empty, transposed: PackedTranspose(Matrix(rows: 2, columns: 0)), bias: [1.5, -2], into: &c)
        #expect(c == Matrix([[1.5, -2], [1.5, -2], [1.5, -2]]))
    }
}
