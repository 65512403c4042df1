import Circuit
import DFC
import Foundation
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

/// Transfer curves measured in this process, by the subcircuit they were measured from: the
/// behavioral backend is rebuilt at every reprogramming, and its curve does not change.
private final class TransferCurveCache: @unchecked Sendable {
    static let shared = TransferCurveCache()
    private let lock = NSLock()
    private var curves: [String: TransferCurve] = [:]

    func curve(_ key: String, measure: () throws -> TransferCurve) throws -> TransferCurve {
        if let c = lock.withLock({ curves[key] }) { return c }
        let c = try measure()
        lock.withLock { curves[key] = c }
        return c
    }
}

extension TransferCurve {
    /// `measure` with the embedded (or batch) ngspice, once per subcircuit, scale and
    /// temperature in a process.
    public static func measuredOnce(_ pair: any TransistorActivation, signalScale s: Double, celsius: Double) throws -> TransferCurve {
        // A pair's description lists every stored parameter: equal descriptions, equal circuits.
        let key = "\(String(reflecting: pair))|\(s)|\(celsius)"
        return try TransferCurveCache.shared.curve(key) {
            try measure(pair, signalScale: s, celsius: celsius, engine: FallbackEngine())
        }
    }
}
