import Circuit
import DFC
import Spice

extension TransferCurve {
    /// φ of a transistor activation circuit as ngspice measures it: a DC sweep of its subcircuit
    /// alone (with its output amplifier, if any), at `celsius`, from −`range` to `range` model units in steps of `step`, in model
    /// units (volts / s). The same subcircuit the netlists instantiate, so the ideal solver
    /// given this curve has the circuit's nonlinearity and only the dynamics differ.
    public static func measure(_ pair: any TransistorActivation, signalScale s: Double, celsius: Double,
                               engine: any SpiceEngine, range: Double = 4, step: Double = 0.01) throws -> TransferCurve {
        let input = SpiceName.sanitized("in"), output = SpiceName.sanitized("out")
        var circuit = Circuit(title: "DC sweep of \(pair.subcircuitName)")
        circuit.subcircuits = [pair.subcircuit(signalScale: s)]
        circuit.models = pair.models
        // Circuit stages' output amplifier is an ideal op-amp here (A = 1e5): the curve is the
        // nominal one, each instance's op-amp offset is the circuit's own departure from it.
        circuit.elements = [.voltageSource(input, input, .ground, .dc(0))]
            + pair.instance(name: { SpiceName.sanitized($0) }, node: { SpiceName.sanitized($0) }, input: input, output: output, signalScale: s)
        circuit.directives = [.dcSweep(source: input, start: -range * s, stop: range * s, step: step * s)]
        if celsius != BJTPairActivation.nominalTemperature {
            circuit.directives.append(.options([("temp", NgspiceDialect.number(celsius))]))
        }
        let lines = try NgspiceDialect().text(circuit, flat: true).split(separator: "\n").map(String.init)
        let result = try engine.simulate(SimulationRequest(netlist: lines, steps: [.analysis("run"), .capture("dc")], timeLimit: 60))
        let plot = try result.plot("dc")
        guard let v = plot.vector("in"), let r = plot.vector("out"), v.count == r.count, v.count >= 2 else {
            throw SimulationError(kind: .missingVector, message: "the DC sweep of \(pair.subcircuitName) gave no in/out vectors", log: result.log)
        }
        return try TransferCurve(start: v[0] / s, step: (v[v.count - 1] - v[0]) / s / Double(v.count - 1), values: r.map { $0 / s })
    }
}
