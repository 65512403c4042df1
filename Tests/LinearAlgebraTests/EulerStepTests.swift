import Foundation
import LinearAlgebra
import Testing

@Suite("VectorMath.eulerStep")
struct EulerStepTests {
    @Test("every level gives the scalar step's bits and counts the values beyond ±bound, NaN included",
          arguments: [false, true])
    func matchesScalarStep(withInput: Bool) {
        let n = 1_003  // a partial last block
        var start = (0..<n).map { Double($0 % 23) - 11 }
        start[7] = .nan
        let a = (0..<n).map { cos(Double($0)) * 9 }
        var b = (0..<n).map { sin(Double($0) * 0.7) * 13 }
        b[1_000] = .infinity
        let gain = 0.566, bound = 6.0
        var reference = start
        for k in 0..<n {
            reference[k] += withInput ? gain * (a[k] + b[k] - reference[k]) : gain * (a[k] - reference[k])
        }
        let resultOutside = reference.filter { !(abs($0) <= bound) }.count
        let inputOutside = b.filter { !(abs($0) <= bound) }.count
        #expect(resultOutside > 2 && inputOutside > 2)
        let censuses: [VectorMath.Census] = [[], .result, .input, [.result, .input]]
        for level in [0, 3, 4] where level <= VectorMath.kernelLevel {
            for census in censuses {
                var x = start
                let counted = x.withUnsafeMutableBufferPointer { px in
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            VectorMath.eulerStep(px, pa, withInput ? pb : nil, gain: gain, census: census, bound: bound,
                                                 kernelLevel: level)
                        }
                    }
                }
                #expect(x.elementsEqual(reference) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "level \(level)")
                let expected = (census.contains(.result) ? resultOutside : 0)
                    + (census.contains(.input) && withInput ? inputOutside : 0)
                #expect(counted == expected, "level \(level), census \(census.rawValue)")
            }
        }
    }
}
