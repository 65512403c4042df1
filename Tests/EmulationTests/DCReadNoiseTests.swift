import Circuit
import DFC
@testable import Emulation
import Foundation
import LinearAlgebra
import Testing

@Suite("Read noise in a DC read")
struct DCReadNoiseTests {
    /// A 6-3 linear layer on 64-level devices with 2 % white and 1 % 1/f read noise.
    func backends() throws -> (noisy: BehavioralBackend, clean: BehavioralBackend) {
        var c = Configuration()
        c.seed = 5
        c.sizes = [6, 3]
        c.activations = [.linear]
        var p = CircuitParameters()
        p.device.levels = 64
        p.device.readNoise = 0.02
        p.device.readNoise1f = 0.01
        let net = try Network.initialized(c, seed: c.seed)
        let clean = try BehavioralBackend(network: net, configuration: c, circuit: p)
        p.dcReadNoise = true
        return (try BehavioralBackend(network: net, configuration: c, circuit: p), clean)
    }

    @Test("each row's read noise has the closed-form rms σ·√(Σ_c (G⁺² + G⁻²) x_c²)/G_unit, σ² = white² + 1/f²")
    func rowLaw() throws {
        let (noisy, clean) = try backends()
        var g = SeededGenerator(seed: 9)
        let n = 3000
        let x = Matrix(rows: n, columns: 6) { _, _ in g.nextNormal() }
        let d = noisy.feedforwardOutput(x) - clean.feedforwardOutput(x)
        let a = noisy.arrays.forward[0]
        let sigma = (0.02 * 0.02 + 0.01 * 0.01).squareRoot()
        var t = [Double]()
        for s in 0..<n {
            let lines = x.row(s) + [1]          // the bias line is driven at 1
            for j in 0..<3 {
                var variance = 0.0
                for c in 0..<7 { variance += (a.gPlus[j, c] * a.gPlus[j, c] + a.gMinus[j, c] * a.gMinus[j, c]) * lines[c] * lines[c] }
                t.append(d[s, j] / (sigma * variance.squareRoot() / a.gUnit))
            }
        }
        let mean = t.reduce(0, +) / Double(t.count)
        let variance = t.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(t.count - 1)
        // Five standard errors: 0.053 for the mean and 0.075 for the variance of 9 000 unit normals.
        #expect(abs(mean) <= 5 / Double(t.count).squareRoot(), "mean \(mean)")
        #expect(abs(variance - 1) <= 5 * (2 / Double(t.count)).squareRoot(), "variance \(variance)")
    }

    @Test("a sample reads the same alone or in a batch, and twice; without dcReadNoise the DC point is the cells' own")
    func reproducible() throws {
        let (noisy, clean) = try backends()
        var g = SeededGenerator(seed: 10)
        let x = Matrix(rows: 8, columns: 6) { _, _ in g.nextNormal() }
        let batch = noisy.feedforwardOutput(x)
        #expect(noisy.feedforwardOutput(x) == batch)
        for s in 0..<8 {
            let alone = noisy.feedforwardOutput(x.rows(s..<(s + 1)))
            for j in 0..<3 { #expect(abs(alone[0, j] - batch[s, j]) <= 1e-12 * (1 + abs(batch[s, j]))) }
        }
        let exact = clean.effectiveNetwork.forward(x).output
        let plain = clean.feedforwardOutput(x)
        for k in 0..<plain.storage.count {
            #expect(abs(plain.storage[k] - exact.storage[k]) <= 1e-12 * (1 + abs(exact.storage[k])))
            #expect(batch.storage[k] != plain.storage[k])
        }
    }
}
