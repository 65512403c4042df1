import Foundation
import LinearAlgebra
import Testing

@Suite("VectorMath")
struct VectorMathTests {
    @Test("vectorized tanh stays within a few ulp of glibc over the whole range")
    func tanhMatchesGlibc() {
        var g = SeededGenerator(seed: 3)
        var xs: [Double] = [0, -0.0, 1e-300, -1e-300, 1e-8, 0.17, 0.175, 0.1749999, 0.35, 1, -1, 5, 19, 20, 40, 400, -400, 710, 1e300]
        for _ in 0..<20_000 { xs.append(g.nextNormal() * 3) }
        for _ in 0..<5_000 { xs.append(g.nextNormal() * 1e-3) }
        for _ in 0..<5_000 { xs.append((g.nextOpenUnit() - 0.5) * 0.8) }
        var out = [Double](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in VectorMath.tanh(s, d) } }
        var worst = 0.0
        for (x, y) in zip(xs, out) {
            let ref = Foundation.tanh(x)
            let ulp = max(abs(ref).ulp, Double.leastNormalMagnitude)
            worst = max(worst, abs(y - ref) / ulp)
            #expect(y.sign == ref.sign || ref == 0, "sign of tanh(\(x))")
        }
        #expect(worst <= 4, "worst error \(worst) ulp")
    }

    @Test("the C kernel at every feature level this CPU has gives the Swift reference's bits, tails and in place included",
          arguments: [0, 3, 4])
    func kernelMatchesReferenceBitForBit(level: Int) {
        guard level <= VectorMath.kernelLevel else { return }
        var g = SeededGenerator(seed: 11)
        for n in [0, 1, 7, 8, 9, 63, 4_099] {
            var xs = (0..<n).map { _ in g.nextNormal() * 2 }
            if n > 3 { xs[1] = .nan; xs[2] = 1e-9; xs[3] = -60 }
            var kernel = [Double](repeating: 0, count: n)
            var reference = kernel
            xs.withUnsafeBufferPointer { s in kernel.withUnsafeMutableBufferPointer { VectorMath.tanh(s, $0, kernelLevel: level) } }
            xs.withUnsafeBufferPointer { s in reference.withUnsafeMutableBufferPointer { VectorMath.tanhReference(s, $0) } }
            #expect(kernel.map(\.bitPattern) == reference.map(\.bitPattern), "n = \(n)")
            var inPlace = xs
            inPlace.withUnsafeMutableBufferPointer { p in VectorMath.tanh(UnsafeBufferPointer(p), p, kernelLevel: level) }
            #expect(inPlace.map(\.bitPattern) == reference.map(\.bitPattern), "in place, n = \(n)")
        }
    }

    @Test("countOutside counts |x| > bound, NaN included, in the lanes and in the tail")
    func countOutsideMatchesScalarCount() {
        var g = SeededGenerator(seed: 5)
        for n in [0, 3, 8, 21, 1_000] {
            var xs = (0..<n).map { _ in g.nextNormal() * 2 }
            if n > 2 { xs[n - 1] = .nan; xs[0] = -.infinity; xs[1] = 1.5 }
            let expected = xs.filter { !(abs($0) <= 1.5) }.count
            let counted = xs.withUnsafeBufferPointer { VectorMath.countOutside($0, bound: 1.5) }
            #expect(counted == expected, "n = \(n)")
        }
    }

    @Test("NaN and infinities")
    func specialValues() {
        let xs: [Double] = [.nan, .infinity, -.infinity]
        var out = [Double](repeating: 0, count: 3)
        xs.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in VectorMath.tanh(s, d) } }
        #expect(out[0].isNaN)
        #expect(out[1] == 1)
        #expect(out[2] == -1)
    }

    @Test("tanh keeps the sign of zero and the precision of tiny and subnormal inputs")
    func zerosAndTinyInputs() {
        let xs: [Double] = [0, -0.0, 5e-324, -5e-324, 1e-310, 1e-200, -3e-17, 1e-9]
        var out = [Double](repeating: 1, count: xs.count)
        xs.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in VectorMath.tanh(s, d) } }
        #expect(out[0].bitPattern == (0.0).bitPattern)
        #expect(out[1].bitPattern == (-0.0).bitPattern)
        // tanh x = x to double precision below |x| ≈ 1e-8.
        for (x, y) in zip(xs.dropFirst(2), out.dropFirst(2)) { #expect(y == x, "tanh(\(x)) = \(y)") }
    }
}
