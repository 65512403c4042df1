import Foundation
import LinearAlgebra
import Testing
import Training

@Suite("Optimizer")
struct OptimizerTests {
    func normals(_ n: Int, _ g: inout SeededGenerator, scale: Double = 1) -> [Double] {
        (0..<n).map { _ in scale * g.nextNormal() }
    }

    @Test("Adam follows the textbook update with bias correction over several steps, on one slab and on several")
    func adamTextbook() {
        var g = SeededGenerator(seed: 11)
        // 70 001 values: split across the cores, with a lane remainder.
        for n in [5, 70_001] {
            var tensors = [normals(n, &g), normals(3, &g)]
            var opt = Optimizer(kind: .adam, learningRate: 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
            var p = tensors, m = tensors.map { $0.map { _ in 0.0 } }, v = m
            for step in 1...3 {
                let d = [normals(n, &g), normals(3, &g)]
                #expect(opt.step(&tensors, directions: d, scale: 0.5))
                let c1 = 1 - pow(0.9, Double(step)), c2 = 1 - pow(0.99, Double(step))
                for t in 0..<2 {
                    for k in 0..<p[t].count {
                        let grad = -0.5 * d[t][k]
                        m[t][k] = 0.9 * m[t][k] + 0.1 * grad
                        v[t][k] = 0.99 * v[t][k] + 0.01 * grad * grad
                        p[t][k] -= 0.01 * (m[t][k] / c1) / ((v[t][k] / c2).squareRoot() + 1e-8)
                    }
                }
            }
            for t in 0..<2 {
                let worst = zip(tensors[t], p[t]).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-13, "n \(n), tensor \(t): largest difference \(worst)")
                #expect(zip(opt.firstMoments[t], m[t]).allSatisfy { $0.isApproximatelyEqual(to: $1, absoluteTolerance: 1e-15) })
            }
        }
    }

    @Test("splitting a tensor across cores gives the same bits as stepping its pieces one by one")
    func adamSlabsAreExact() {
        var g = SeededGenerator(seed: 12)
        let n = 100_003
        let p0 = normals(n, &g), m0 = normals(n, &g, scale: 0.1), v0 = normals(n, &g).map { abs($0) }, d = normals(n, &g)
        var p = p0, m = m0, v = v0
        VectorMath.adamStep(&p, m: &m, v: &v, descent: d, clipScale: 0.7, rate: 0.003, secondScale: 1.5,
                            beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        var pieces = [Double](), piecesM = [Double](), piecesV = [Double]()
        for start in stride(from: 0, to: n, by: 997) {
            let r = start..<min(n, start + 997)
            var pp = Array(p0[r]), mm = Array(m0[r]), vv = Array(v0[r])
            VectorMath.adamStep(&pp, m: &mm, v: &vv, descent: Array(d[r]), clipScale: 0.7, rate: 0.003, secondScale: 1.5,
                                beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
            pieces += pp; piecesM += mm; piecesV += vv
        }
        #expect(p == pieces && m == piecesM && v == piecesV)
    }

    @Test("a step leaves other holders of the old parameters alone")
    func valueSemantics() {
        var g = SeededGenerator(seed: 13)
        let before = [normals(80_000, &g)]
        var tensors = before
        var opt = Optimizer(kind: .adam, learningRate: 0.1)
        opt.step(&tensors, directions: [normals(80_000, &g)])
        #expect(tensors != before)
        var sgd = Optimizer(kind: .sgd, learningRate: 0.1)
        var other = before
        sgd.step(&other, directions: [normals(80_000, &g)])
        #expect(other != before)
        let copy = before
        #expect(copy == before)
    }

    @Test("SGD adds η·s·Δ, and clipping rescales the whole update to the clip norm")
    func sgdAndClipping() {
        var g = SeededGenerator(seed: 14)
        let p0 = normals(1000, &g), d = normals(1000, &g)
        let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var plain = Optimizer(kind: .sgd, learningRate: 0.1)
        var tensors = [p0]
        #expect(plain.step(&tensors, directions: [d], scale: 2))
        #expect(zip(tensors[0], zip(p0, d)).allSatisfy { $0.isApproximatelyEqual(to: $1.0 + 0.2 * $1.1, absoluteTolerance: 1e-15) })

        // ‖2Δ‖ > 1: the update becomes η·2Δ·(1/‖2Δ‖), so it has length η.
        var clipped = Optimizer(kind: .sgd, learningRate: 0.1, clipNorm: 1)
        tensors = [p0]
        clipped.step(&tensors, directions: [d], scale: 2)
        let moved = zip(tensors[0], p0).map { $0 - $1 }
        let length = moved.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(length.isApproximatelyEqual(to: 0.1, relativeTolerance: 1e-12))
        #expect(zip(moved, d).allSatisfy { $0.isApproximatelyEqual(to: 0.1 * $1 / norm, absoluteTolerance: 1e-15) })

        // Below the clip norm nothing changes.
        var loose = Optimizer(kind: .sgd, learningRate: 0.1, clipNorm: 10 * norm)
        tensors = [p0]
        loose.step(&tensors, directions: [d])
        #expect(zip(tensors[0], zip(p0, d)).allSatisfy { $0.isApproximatelyEqual(to: $1.0 + 0.1 * $1.1, absoluteTolerance: 1e-15) })
    }

    @Test("a step that makes a value non-finite says so, whichever tensor, lane or slab it is in")
    func finiteness() {
        var g = SeededGenerator(seed: 15)
        for kind in Optimizer.Kind.allCases {
            for (n, bad) in [(9, 8), (70_000, 3), (70_000, 69_999), (70_000, 35_001)] {
                for poison in [Double.nan, .infinity] {
                    var d = normals(n, &g)
                    d[bad] = poison
                    var tensors = [normals(4, &g), normals(n, &g)]
                    var opt = Optimizer(kind: kind, learningRate: 0.01)
                    #expect(!opt.step(&tensors, directions: [normals(4, &g), d]), "\(kind), n \(n), value \(bad), \(poison)")
                    var clean = Optimizer(kind: kind, learningRate: 0.01)
                    #expect(clean.step(&tensors, directions: [normals(4, &g), normals(n, &g)]) == tensors.allSatisfy(VectorMath.allFinite))
                }
            }
        }
    }
}

extension Double {
    /// |self − other| ≤ max(absoluteTolerance, relativeTolerance·max(|self|, |other|)).
    fileprivate func isApproximatelyEqual(to other: Double, absoluteTolerance: Double = 0, relativeTolerance: Double = 0) -> Bool {
        abs(self - other) <= max(absoluteTolerance, relativeTolerance * max(abs(self), abs(other)))
    }
}
