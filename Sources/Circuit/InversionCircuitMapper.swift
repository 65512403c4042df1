import LinearAlgebra

/// One layer pair of dynamic inversion as a circuit (DI paper, Eq. 5 and 8;
/// docs/dynamic-inversion.md has the schematic and sign conventions):
///
/// - error population δ_{l−1}, one leaky inverting integrator per unit j: the B crossbar
///   (driven by −s·u on its plus lines, +s·u on its minus lines) sinks −s·G_B·(B u)_j into
///   the summing node, R_F = 1/G_B and C = τ·G_B across the op-amp give
///   τ dV/dt = −V + s·(B u)_j, so the output is +s·δ_j;
/// - controller u_l, one integrator per unit k: the W crossbar (from −s·δ / +s·δ) sinks
///   −s·G_W·(W δ)_k, the target source +s·δ_l,k drives G_W, a leak resistor 1/(α G_W) goes
///   from the output back to the summing node, C = τ·G_W: dV/dt = s(Wδ − δ_l)_k − α V,
///   so the output is +s·u_k;
/// - inverters (VCVS, gain −1) give the −s·δ and −s·u lines.
///
/// The target steps from 0 to its value in the first 0.1 % of the run, so the operating
/// point is δ = 0, u = 0 and the transient shows the dynamics of DI from rest.
public struct InversionCircuitMapper: Sendable {
    public var parameters: CircuitParameters
    /// The controller's leak α.
    public var alpha: Double
    /// Length of the transient in model time (units of the populations' τ).
    public var duration: Double
    /// Output points of the transient.
    public var points: Int

    public init(parameters: CircuitParameters, alpha: Double, duration: Double = 200, points: Int = 2000) throws {
        try parameters.validate()
        guard alpha > 0, alpha.isFinite else { throw InvalidElementError(element: "alpha", reason: "the circuit needs a leak α > 0 (an ideal integrator has no DC operating point); got \(alpha)") }
        guard duration > 0, duration.isFinite, points >= 10 else { throw InvalidElementError(element: "duration", reason: "need a positive duration and ≥ 10 points") }
        self.parameters = parameters
        self.alpha = alpha
        self.duration = duration
        self.points = points
    }

    public enum Nodes {
        public static func delta(_ j: Int, plus: Bool) -> SpiceName { SpiceName("D", String(j), plus ? "_p" : "_n") }
        public static func control(_ k: Int, plus: Bool) -> SpiceName { SpiceName("U", String(k), plus ? "_p" : "_n") }
    }

    /// The circuit of layer pair `layer` for one sample with target δ_l = `target`; nodes
    /// D<j>_p carry +s·δ_{l−1,j} and U<k>_p carry +s·u_k (divide by `parameters.signalScale`).
    public func map(weights w: Matrix, feedback b: Matrix, target: [Double], layer: Int) throws -> Circuit {
        guard b.rows == w.columns, b.columns == w.rows else {
            throw InvalidElementError(element: "B\(layer)", reason: "shape \(b.rows)×\(b.columns), need \(w.columns)×\(w.rows)")
        }
        guard target.count == w.rows, target.allSatisfy(\.isFinite), w.isFinite, b.isFinite else {
            throw InvalidElementError(element: "target", reason: "need \(w.rows) finite values and finite weights")
        }
        let p = parameters
        let s = p.signalScale
        let below = w.columns, above = w.rows
        var root = SeededGenerator(seed: p.deviceSeed ?? 0).derived(0xD1)
        var faults = root.derived(1), noise = root.derived(2)
        _ = root.next()
        let gw = p.device.program(w, faults: &faults, noise: &noise)
        let gb = p.device.program(b, faults: &faults, noise: &noise)
        var circuit = Circuit(title: "DFCSpice dynamic inversion, layer pair \(layer): \(above) x \(below)")
        circuit.opAmp = p.opAmp
        var e: [Element] = []
        let rise = 1e-3 * duration * p.timeScale
        // With converters, the crossbars see ±u through the write DAC and ±δ through the read
        // converter (U<k>_q…, D<j>_q…); the populations themselves stay exact.
        let conv = p.converters
        func line(_ node: SpiceName, _ quantizer: Quantizer?, _ quantized: SpiceName) -> SpiceName { quantizer == nil ? node : quantized }
        circuit.crossbars.append(Crossbar(prefix: "B\(layer)", rows: (0..<below).map { SpiceName("D", String($0), "_sum") },
                                          plusLines: (0..<above).map { line(Nodes.control($0, plus: false), conv.write, SpiceName("U", String($0), "_qn")) },
                                          minusLines: (0..<above).map { line(Nodes.control($0, plus: true), conv.write, SpiceName("U", String($0), "_qp")) },
                                          gPlus: gb.gPlus, gMinus: gb.gMinus))
        circuit.crossbars.append(Crossbar(prefix: "W\(layer)", rows: (0..<above).map { SpiceName("U", String($0), "_sum") },
                                          plusLines: (0..<below).map { line(Nodes.delta($0, plus: false), conv.read, SpiceName("D", String($0), "_qn")) },
                                          minusLines: (0..<below).map { line(Nodes.delta($0, plus: true), conv.read, SpiceName("D", String($0), "_qp")) },
                                          gPlus: gw.gPlus, gMinus: gw.gMinus))
        for k in circuit.crossbars.indices {
            circuit.crossbars[k].wires = p.wire
            circuit.crossbars[k].oneSidedCells = p.oneSidedCells
            circuit.crossbars[k].cells.nonlinearityVoltage = p.device.nonlinearityVoltage
            if p.device.readNoise > 0 || p.device.readNoise1f > 0 {
                circuit.crossbars[k].cells.white = p.device.readNoise
                circuit.crossbars[k].cells.pink = p.device.readNoise1f
                circuit.crossbars[k].cells.step = duration * p.timeScale / Double(points)
                circuit.crossbars[k].cells.stop = duration * p.timeScale
                circuit.crossbars[k].cells.seed = SeededGenerator(seed: p.deviceSeed ?? 0).derived(0x4EAD).derived(UInt64(layer))
                    .derived(UInt64(k)).derived(Matrix(row: target).fingerprint).state.0
            }
        }
        for j in 0..<below {
            circuit.groups.append(InstanceGroup(instance: SpiceName("D", String(j)), prefix: "D\(j)_", kind: "error_unit"))
            let sum = SpiceName("D", String(j), "_sum")
            let out = Nodes.delta(j, plus: true)
            e.append(.resistor(SpiceName("D", String(j), "_f"), sum, out, ohms: 1 / gb.gUnit))
            e.append(.capacitor(SpiceName("D", String(j), "_int"), sum, out, farads: p.timeScale * gb.gUnit))
            e.append(.opAmp(SpiceName("D", String(j), "_integrator"), plus: .ground, minus: sum, output: out))
            e.append(.vcvs(SpiceName("D", String(j), "_inv"), Nodes.delta(j, plus: false), .ground, out, .ground, gain: -1))
            if let adc = conv.read {
                let q = adc.expression(of: out, signalScale: s)
                e.append(.behavioralVoltage(SpiceName("D", String(j), "_adc"), SpiceName("D", String(j), "_qp"), .ground, expression: q))
                e.append(.behavioralVoltage(SpiceName("D", String(j), "_adcn"), SpiceName("D", String(j), "_qn"), .ground, expression: "-(\(q))"))
            }
        }
        for k in 0..<above {
            let sum = SpiceName("U", String(k), "_sum")
            let out = Nodes.control(k, plus: true)
            let t = SpiceName("T", String(k))
            circuit.groups.append(InstanceGroup(instance: SpiceName("U", String(k)), prefix: "U\(k)_", kind: "controller_unit",
                                                externalPorts: [t: "target"]))
            let targetValue = conv.input.map { $0(target[k]) } ?? target[k]
            e.append(.voltageSource(SpiceName("T", String(k)), t, .ground, .pwl([(0, 0), (rise, s * targetValue)], parameterScaled: nil)))
            e.append(.resistor(SpiceName("U", String(k), "_target"), t, sum, ohms: 1 / gw.gUnit))
            e.append(.resistor(SpiceName("U", String(k), "_leak"), out, sum, ohms: 1 / (alpha * gw.gUnit)))
            e.append(.capacitor(SpiceName("U", String(k), "_int"), sum, out, farads: p.timeScale * gw.gUnit))
            e.append(.opAmp(SpiceName("U", String(k), "_integrator"), plus: .ground, minus: sum, output: out))
            e.append(.vcvs(SpiceName("U", String(k), "_inv"), Nodes.control(k, plus: false), .ground, out, .ground, gain: -1))
            if let dac = conv.write {
                let q = dac.expression(of: out, signalScale: s)
                e.append(.behavioralVoltage(SpiceName("U", String(k), "_dac"), SpiceName("U", String(k), "_qp"), .ground, expression: q))
                e.append(.behavioralVoltage(SpiceName("U", String(k), "_dacn"), SpiceName("U", String(k), "_qn"), .ground, expression: "-(\(q))"))
            }
        }
        circuit.elements = e
        let opAmpText = p.opAmp.summary
        let step = duration * p.timeScale / Double(points)
        circuit.directives = [
            .save((0..<below).map { Nodes.delta($0, plus: true) } + (0..<above).map { Nodes.control($0, plus: true) }),
            .transient(step: step, stop: duration * p.timeScale, maxStep: step),
        ]
        circuit.header = [
            "dynamic inversion (DI paper Eq. 5, 8): D<j>_p = +s*delta_{l-1,j}, U<k>_p = +s*u_k, s = \(s) V/unit,",
            "tau = \(p.timeScale) s per model time unit, alpha = \(alpha), op-amp \(opAmpText), target stepped in at t = 0+.",
        ]
        if !conv.isEmpty {
            circuit.header.append("converters (behavioral quantizers): target DAC \(conv.input.map { "\($0.bits) bits" } ?? "exact"), "
                + "delta read \(conv.read.map { "\($0.bits) bits" } ?? "exact"), u write \(conv.write.map { "\($0.bits) bits" } ?? "exact").")
        }
        try circuit.validate()
        return circuit
    }
}
