import Circuit
import DFC
import DynamicInversion
import Emulation
import LinearAlgebra
import Spice
import Testing

@Suite("Dynamic inversion in SPICE")
struct InversionCircuitTests {
    @Test("the SPICE DI backward pass of a 30-20-10 net agrees with NDI within 1e-3 relative")
    func spiceMatchesNDI() throws {
        var c = Configuration()
        c.sizes = [30, 20, 10]
        c.activations = [.tanh, .linear]
        let net = try Network.initialized(c, seed: 41)
        let model = try InversionModel.initialized(network: net, initialization: .transpose, alpha: 0.1, seed: 1)
        var g = SeededGenerator(seed: 42)
        let x = Matrix.gaussian(rows: 3, columns: 30, std: 1, using: &g)
        let deltaL = Matrix.gaussian(rows: 3, columns: 10, std: 0.5, using: &g)
        let ff = net.forward(x)
        var p = InversionParameters()
        p.alpha = 0.1
        let ndi = try model.backward(.ndi, feedforward: ff, outputError: deltaL, parameters: p)
        let ideal = try model.backward(.di, feedforward: ff, outputError: deltaL, parameters: p)
        let spice = try SpiceInversion(engine: FallbackEngine(), mapper: try InversionCircuitMapper(parameters: CircuitParameters(), alpha: 0.1))
            .backward(model: model, feedforward: ff, outputError: deltaL)
        let error = (spice.deltas[0] - ndi.deltas[0]).frobeniusNorm / ndi.deltas[0].frobeniusNorm
        #expect(error < 1e-3, "circuit vs NDI: \(error)")
        #expect(spice.residuals.allSatisfy { $0 < 1e-3 }, "circuit residuals \(spice.residuals)")
        #expect((ideal.deltas[0] - ndi.deltas[0]).frobeniusNorm / ndi.deltas[0].frobeniusNorm < 1e-6)
    }

    @Test("the DI circuit refuses α = 0 and mismatched shapes")
    func refusesBadSetups() throws {
        #expect(throws: InvalidElementError.self) { _ = try InversionCircuitMapper(parameters: CircuitParameters(), alpha: 0) }
        let m = try InversionCircuitMapper(parameters: CircuitParameters(), alpha: 0.1)
        #expect(throws: InvalidElementError.self) {
            _ = try m.map(weights: Matrix(rows: 3, columns: 4), feedback: Matrix(rows: 3, columns: 4), target: [0, 0, 0], layer: 2)
        }
        #expect(throws: InvalidElementError.self) {
            _ = try m.map(weights: Matrix(rows: 3, columns: 4), feedback: Matrix(rows: 4, columns: 3), target: [0, .nan, 0], layer: 2)
        }
    }
}
