import Circuit
import DFC
@testable import Emulation
import Foundation
import LinearAlgebra
import Spice
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

    /// The noise d (noisy − clean read) of every row standardized by its closed-form rms
    /// σ·√(Σ_c (G⁺² + G⁻²) x_c²)/G_unit; its mean and variance within five standard errors of 0 and 1.
    func expectRowLaw(_ d: Matrix, inputs x: Matrix, array a: ProgrammedArray, _ comment: Comment) {
        let sigma = (0.02 * 0.02 + 0.01 * 0.01).squareRoot()
        var t = [Double]()
        for s in 0..<x.rows {
            let lines = x.row(s) + [1]          // the bias line is driven at 1
            for j in 0..<3 {
                var variance = 0.0
                for c in 0..<7 { variance += (a.gPlus[j, c] * a.gPlus[j, c] + a.gMinus[j, c] * a.gMinus[j, c]) * lines[c] * lines[c] }
                t.append(d[s, j] / (sigma * variance.squareRoot() / a.gUnit))
            }
        }
        let mean = t.reduce(0, +) / Double(t.count)
        let variance = t.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(t.count - 1)
        #expect(abs(mean) <= 5 / Double(t.count).squareRoot(), "\(comment): mean \(mean)")
        #expect(abs(variance - 1) <= 5 * (2 / Double(t.count)).squareRoot(), "\(comment): variance \(variance)")
    }

    @Test("each row's read noise has the closed-form rms σ·√(Σ_c (G⁺² + G⁻²) x_c²)/G_unit, σ² = white² + 1/f²")
    func rowLaw() throws {
        let (noisy, clean) = try backends()
        var g = SeededGenerator(seed: 9)
        let x = Matrix(rows: 3000, columns: 6) { _, _ in g.nextNormal() }
        expectRowLaw(noisy.feedforwardOutput(x) - clean.feedforwardOutput(x), inputs: x, array: noisy.arrays.forward[0], "behavioral")
    }

    @Test("ngspice reads once through every cell's own noise: the same row law; a sample reads alike twice and in any position")
    func spiceRowLaw() throws {
        let (noisy, clean) = try backends()
        let spiceNoisy = try SpiceBackend(network: noisy.network, configuration: noisy.mapper.configuration, circuit: noisy.mapper.parameters,
                                          engine: EmbeddedNgspice.shared)
        var quiet = noisy.mapper.parameters
        quiet.dcReadNoise = false
        let spiceClean = try SpiceBackend(network: noisy.network, configuration: noisy.mapper.configuration, circuit: quiet, engine: EmbeddedNgspice.shared)
        var g = SeededGenerator(seed: 11)
        let x = Matrix(rows: 160, columns: 6) { _, _ in g.nextNormal() }
        let a = try spiceNoisy.feedforwardOutputs(inputs: x), b = try spiceClean.feedforwardOutputs(inputs: x)
        #expect(a.skipped.isEmpty && b.skipped.isEmpty)
        // Per cell, not per row as the behavioral read draws: the levels agree in law, not in draws.
        expectRowLaw(a.values - b.values, inputs: x, array: noisy.arrays.forward[0], "ngspice")
        // Without the flag, ngspice's operating point is the behavioral DC point.
        let plain = clean.feedforwardOutput(x)
        #expect(zip(b.values.storage, plain.storage).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
        let reversed = Matrix(rows: 4, columns: 6) { r, c in x[3 - r, c] }
        let again = try spiceNoisy.feedforwardOutputs(inputs: reversed).values
        for r in 0..<4 { for j in 0..<3 { #expect(again[3 - r, j] == a.values[r, j]) } }
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
