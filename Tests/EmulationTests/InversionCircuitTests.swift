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

    @Test("DI converters: the target through the input DAC, ±δ into W through the read converter, ±u into B through the write DAC")
    func converters() throws {
        var p = CircuitParameters()
        p.converters = Converters(input: Quantizer(bits: 4, range: 1), read: Quantizer(bits: 8, range: 2), write: Quantizer(bits: 8, range: 2))
        let w = Matrix(rows: 2, columns: 3) { r, c in Double(r + c) / 5 - 0.3 }
        let b = Matrix(rows: 3, columns: 2) { r, c in Double(r - c) / 4 + 0.1 }
        let circuit = try InversionCircuitMapper(parameters: p, alpha: 0.1).map(weights: w, feedback: b, target: [0.33, -0.2], layer: 2)
        let names = Set(circuit.elements.map(\.name.text))
        #expect(names.isSuperset(of: ["D0_adc", "D0_adcn", "U1_dac", "U1_dacn"]))
        #expect(circuit.crossbars[0].plusLines.map(\.text) == ["U0_qn", "U1_qn"] && circuit.crossbars[1].minusLines.map(\.text) == ["D0_qp", "D1_qp", "D2_qp"])
        // 0.33 on a 4-bit converter over ±1 (step 1/7) is 2/7.
        let target = circuit.elements.compactMap { e -> Double? in
            guard case .voltageSource(let name, _, _, .pwl(let points, _)) = e, name.text == "T0" else { return nil }
            return points.last?.value
        }
        #expect(target.count == 1 && abs((target.first ?? 0) - p.signalScale * 2 / 7) < 1e-12)
    }
}
