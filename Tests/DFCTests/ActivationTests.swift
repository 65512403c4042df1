@testable import DFC
import LinearAlgebra
import Testing

@Suite("Activation derivatives")
struct ActivationTests {
    @Test("φ′ from the rates equals φ′ from the potentials, bit for bit", arguments: Activation.allCases)
    func derivativeFromRates(activation: Activation) {
        var g = SeededGenerator(seed: 151)
        let v = Matrix.gaussian(rows: 5, columns: 37, std: 1.5, using: &g)
        let fromRates = activation.derivative(v, rates: activation.apply(v))
        #expect(fromRates.storage.map(\.bitPattern) == activation.derivative(v).storage.map(\.bitPattern))
    }

    @Test("φ′ agrees with central differences of φ", arguments: Activation.allCases)
    func derivativeMatchesDifferences(activation: Activation) {
        var g = SeededGenerator(seed: 152)
        // Away from ReLU's kink at 0.
        let v = Matrix.gaussian(rows: 3, columns: 20, std: 1.5, using: &g).map { abs($0) < 1e-3 ? 0.5 : $0 }
        let d = activation.derivative(v, rates: activation.apply(v))
        let h = 1e-6
        for k in v.storage.indices {
            let x = v.storage[k]
            let numeric = (activation(x + h) - activation(x - h)) / (2 * h)
            #expect(abs(d.storage[k] - numeric) < 1e-8, "\(activation) at \(x)")
        }
    }
}
