import DFC
import LinearAlgebra

/// Which phase a written netlist simulates; both are one netlist with a different
/// value of the parameter `ctl_level`, so `alterparam ctl_level=…` switches them.
public enum ControllerPhase: String, Sendable, CaseIterable {
    /// The controller's error input is gated off: u = 0, the circuit settles to the feedforward pass.
    case feedforward
    /// The controller switches on at t = 0⁺ and drives the output towards r_L*.
    case controlled
}

/// A node whose voltage is a model signal: model value = volts · `scale`.
public struct Observable: Sendable, Equatable {
    public enum Signal: Sendable, Equatable {
        case soma(layer: Int, neuron: Int)      // v_i
        case basal(layer: Int, neuron: Int)     // v_i^B
        case apical(layer: Int, neuron: Int)    // v_i^A
        case rate(layer: Int, neuron: Int)      // r_i
        case control(output: Int)               // u
        case error(output: Int)                 // e
    }
    public var node: SpiceName
    public var signal: Signal
    public var scale: Double
}

/// A DFC network mapped to a circuit, with what the devices really realise.
public struct MappedCircuit: Sendable {
    public var circuit: Circuit
    /// The network with every W_i, b_i, Q_i replaced by the realised weights.
    public var realised: Network
    public var observables: [Observable]
    /// G_unit per layer for the W (with b) and Q crossbars, siemens per unit weight.
    public var gUnitForward: [Double]
    public var gUnitFeedback: [Double]
    public var clippedWeights: Int
    public var stuckDevices: Int
}

/// Maps a network, its configuration and one sample onto crossbars and op-amp stages
/// (DESIGN.md §3; docs/circuit-mapping.md has the schematics and sign conventions).
public struct DFCCircuitMapper: Sendable {
    public var configuration: Configuration
    public var parameters: CircuitParameters

    public init(configuration: Configuration, parameters: CircuitParameters) throws {
        try configuration.validate()
        try parameters.validate()
        self.configuration = configuration
        self.parameters = parameters
        let stop = parameters.tranStop ?? Double(configuration.control.steps) * configuration.control.dt * parameters.timeScale
        let points = stop / transientStep
        guard points <= Self.maxTransientPoints else {
            throw InvalidElementError(element: parameters.tranStep != nil ? "circuit.tranStep" : "circuit.tranStop",
                                      reason: String(format: "a %.3g s transient in steps of %.3g s is %.3g points; at most %.0f (raise tranStep)",
                                                     stop, transientStep, points, Self.maxTransientPoints))
        }
    }

    /// Output points of one transient: 10⁷ points of a 15-10-10-5 circuit already take ngspice
    /// hours and gigabytes; `tranStep: 1e-30` would otherwise hang `compare` for ever.
    public static let maxTransientPoints = 1e7

    /// Node names, in one place so netlists, plots and tests agree.
    public enum Nodes {
        public static func input(_ k: Int, plus: Bool) -> SpiceName { SpiceName("X", String(k), plus ? "_p" : "_n") }
        public static func neuron(_ layer: Int, _ j: Int, _ part: String) -> SpiceName { SpiceName("L", String(layer), "_N", String(j), "_", part) }
        public static func control(_ k: Int, plus: Bool) -> SpiceName { SpiceName("U", String(k), plus ? "_p" : "_n") }
        /// The write DAC's ±u lines, which drive the Q crossbars when `circuit.converters.write` is set.
        public static func controlWritten(_ k: Int, plus: Bool) -> SpiceName { SpiceName("U", String(k), plus ? "_qp" : "_qn") }
        public static func controller(_ k: Int, _ part: String) -> SpiceName { SpiceName("C", String(k), "_", part) }
        public static let biasPlus = SpiceName("BIAS_p")
        public static let biasMinus = SpiceName("BIAS_n")
        public static let enable = SpiceName("CTL")
        public static let enableLevel = SpiceName("ctl_level")
    }

    /// Builds the circuit for one sample: `input` (n_0 values) and `target` r_L* (n_L values).
    /// `programmingRound` numbers independent programmings of the same weights (see
    /// `programArrays`): the same values in the same round realise the same conductances.
    public func map(network: Network, input: [Double], target: [Double], phase: ControllerPhase,
                    programmingRound: UInt64 = 0) throws -> MappedCircuit {
        guard network.sizes == configuration.sizes else {
            throw InvalidElementError(element: "network", reason: "model sizes \(network.sizes) ≠ config sizes \(configuration.sizes)")
        }
        guard input.count == network.sizes[0], input.allSatisfy(\.isFinite) else {
            throw InvalidElementError(element: "input", reason: "need \(network.sizes[0]) finite values")
        }
        guard target.count == network.outputSize, target.allSatisfy(\.isFinite) else {
            throw InvalidElementError(element: "target", reason: "need \(network.outputSize) finite values")
        }
        let p = parameters
        let c = configuration
        let s = p.signalScale
        let L = network.depth
        let nL = network.outputSize
        var circuit = Circuit(title: "DFCSpice \(c.name): \(network.sizes.map(String.init).joined(separator: "-")) DFC network, \(phase.rawValue) phase")
        circuit.opAmp = p.opAmp
        circuit.parameters = [(Nodes.enableLevel, phase == .controlled ? 1 : 0)]
        circuit.userLines = try checkFragment(p.include, allowUnsafe: p.allowUnsafeInclude)
        var e: [Element] = []
        var observables: [Observable] = []

        // Sources: inputs, bias lines, targets, the controller enable.
        for (k, exact) in input.enumerated() {
            let x = p.converters.input.map { $0(exact) } ?? exact
            e.append(.voltageSource(SpiceName("X", String(k), "p"), Nodes.input(k, plus: true), .ground, .dc(s * x)))
            e.append(.voltageSource(SpiceName("X", String(k), "n"), Nodes.input(k, plus: false), .ground, .dc(-s * x)))
        }
        e.append(.voltageSource(SpiceName("BIASp"), Nodes.biasPlus, .ground, .dc(s)))
        e.append(.voltageSource(SpiceName("BIASn"), Nodes.biasMinus, .ground, .dc(-s)))
        let tauV = c.control.tauV * p.timeScale
        let tauU = c.control.tauU * p.timeScale
        let outputStep = transientStep
        let rise = p.enableRise * tauV
        e.append(.voltageSource(SpiceName("CTL"), Nodes.enable, .ground,
                                .pwl([(0, 0), (rise, 1)], parameterScaled: Nodes.enableLevel)))

        // The Q crossbars see u through the write DAC if there is one.
        let written = { (k: Int, plus: Bool) in p.converters.write == nil ? Nodes.control(k, plus: plus) : Nodes.controlWritten(k, plus: plus) }

        // Crossbars, programmed through the device model.
        let arrays = programArrays(network: network, programmingRound: programmingRound)
        let realised = arrays.realised
        let gUnitW = arrays.forward.map(\.gUnit), gUnitQ = arrays.feedback.map(\.gUnit)
        let clipped = arrays.clipped, stuck = arrays.stuck
        for i in 0..<L {
            let layer = i + 1
            let n = network.weights[i].rows
            let inputs = network.weights[i].columns
            let programmed = arrays.forward[i]
            let plus = (0..<inputs).map { i == 0 ? Nodes.input($0, plus: true) : Nodes.neuron(i, $0, "rp") } + [Nodes.biasPlus]
            let minus = (0..<inputs).map { i == 0 ? Nodes.input($0, plus: false) : Nodes.neuron(i, $0, "rn") } + [Nodes.biasMinus]
            circuit.crossbars.append(Crossbar(prefix: "W\(layer)", rows: (0..<n).map { Nodes.neuron(layer, $0, "bsum") },
                                              plusLines: plus, minusLines: minus, gPlus: programmed.gPlus, gMinus: programmed.gMinus))
            let q = arrays.feedback[i]
            circuit.crossbars.append(Crossbar(prefix: "Q\(layer)", rows: (0..<n).map { Nodes.neuron(layer, $0, "asum") },
                                              plusLines: (0..<nL).map { written($0, true) },
                                              minusLines: (0..<nL).map { written($0, false) },
                                              gPlus: q.gPlus, gMinus: q.gMinus))
            for (offset, array) in [(2, UInt64(2 * i)), (1, UInt64(2 * i + 1))] {
                circuit.crossbars[circuit.crossbars.count - offset].wires = p.wire
                circuit.crossbars[circuit.crossbars.count - offset].oneSidedCells = p.oneSidedCells
                circuit.crossbars[circuit.crossbars.count - offset].cells = cellPhysics(array: array, input: input, programmingRound: programmingRound)
            }

            // Three-compartment neurons.
            let rSoma = p.somaResistance
            let somaInputs = c.control.sigma > 0 ? 3.0 : 2.0
            let rSomaF = trimmed(rSoma, inputConductance: somaInputs / rSoma)
            for j in 0..<n {
                let node = { Nodes.neuron(layer, j, $0) }
                let tag = { (part: String) in SpiceName("L", String(layer), "_N", String(j), "_", part) }
                circuit.groups.append(InstanceGroup(instance: SpiceName("L", String(layer), "_N", String(j)),
                                                    prefix: "L\(layer)_N\(j)_", kind: "neuron_L\(layer)"))
                // Basal and apical TIAs: output −R_f·I = −s·v^B (−s·v^A) with R_f = 1/G_unit.
                e.append(.opAmp(tag("basalTIA"), plus: .ground, minus: node("bsum"), output: node("basal")))
                let basalInputs = (0..<programmed.gPlus.columns).reduce(0.0) { $0 + programmed.gPlus[j, $1] + programmed.gMinus[j, $1] }
                e.append(.resistor(tag("basalF"), node("bsum"), node("basal"), ohms: trimmed(1 / programmed.gUnit, inputConductance: basalInputs)))
                e.append(.opAmp(tag("apicalTIA"), plus: .ground, minus: node("asum"), output: node("apical")))
                let apicalInputs = (0..<q.gPlus.columns).reduce(0.0) { $0 + q.gPlus[j, $1] + q.gMinus[j, $1] }
                e.append(.resistor(tag("apicalF"), node("asum"), node("apical"), ohms: trimmed(1 / q.gUnit, inputConductance: apicalInputs)))
                // Soma: inverting leaky integrator, τ_v = R·C, output +s·v.
                e.append(.resistor(tag("somaB"), node("basal"), node("ssum"), ohms: rSoma))
                e.append(.resistor(tag("somaA"), node("apical"), node("ssum"), ohms: rSoma))
                // Trimming R_F keeps τ_v = R·C: C follows the untrimmed R.
                e.append(.resistor(tag("somaF"), node("ssum"), node("soma"), ohms: rSomaF))
                e.append(.capacitor(tag("soma"), node("ssum"), node("soma"), farads: tauV / rSoma))
                e.append(.opAmp(tag("somaIntegrator"), plus: .ground, minus: node("ssum"), output: node("soma")))
                if c.control.sigma > 0 {
                    // τ_v dv = … dt + σ dW: white noise of intensity s·σ in volts, sampled
                    // every tran step with rms s·σ/√(Δt) (in model time units).
                    let dtModel = outputStep / p.timeScale
                    e.append(.voltageSource(tag("noise"), node("noise"), .ground,
                                            .transientNoise(dc: 0, amplitude: s * c.control.sigma / dtModel.squareRoot(),
                                                            step: outputStep)))
                    e.append(.resistor(tag("somaN"), node("noise"), node("ssum"), ohms: rSoma))
                }
                // φ and the ±r lines.
                if let pair = p.activation.transistorCircuit, network.activations[i] == .tanh {
                    e += pair.instance(name: tag, node: node, input: node("soma"), output: node("rp"), signalScale: s)
                } else {
                    e.append(.behavioralVoltage(tag("phi"), node("rp"), .ground,
                                                expression: phiExpression(network.activations[i], node("soma"), s)))
                }
                e.append(.vcvs(tag("inv"), node("rn"), .ground, node("rp"), .ground, gain: -1))
                observables += [
                    Observable(node: node("soma"), signal: .soma(layer: layer, neuron: j), scale: 1 / s),
                    Observable(node: node("basal"), signal: .basal(layer: layer, neuron: j), scale: -1 / s),
                    Observable(node: node("apical"), signal: .apical(layer: layer, neuron: j), scale: -1 / s),
                    Observable(node: node("rp"), signal: .rate(layer: layer, neuron: j), scale: 1 / s),
                ]
            }
        }

        // The PI controller, one channel per output.
        let rs = p.stageResistance
        let re = p.integratorResistance
        for k in 0..<nL {
            let node = { Nodes.controller(k, $0) }
            let tag = { (part: String) in SpiceName("C", String(k), "_", part) }
            let output = Nodes.neuron(L, k, "rp")
            circuit.groups.append(InstanceGroup(instance: SpiceName("C", String(k)), prefix: "C\(k)_", kind: "pi_channel", externalPorts: [
                output: "r", Nodes.control(k, plus: true): "u_p", Nodes.control(k, plus: false): "u_n", Nodes.enable: "ctl",
                Nodes.controlWritten(k, plus: true): "uq_p", Nodes.controlWritten(k, plus: false): "uq_n",
            ]))
            // The controller reads r_L through its ADC, if there is one.
            var read = output
            if let adc = p.converters.read {
                read = node("rq")
                e.append(.behavioralVoltage(tag("adc"), read, .ground, expression: adc.expression(of: output, signalScale: s)))
            }
            e.append(.voltageSource(tag("target"), node("target"), .ground, .dc(s * target[k])))
            // Difference stage: e = V(target) − V(r_L).
            e.append(.resistor(tag("d1"), read, node("dm"), ohms: rs))
            e.append(.resistor(tag("d2"), node("dm"), node("e"), ohms: rs))
            e.append(.resistor(tag("d3"), node("target"), node("dp"), ohms: rs))
            e.append(.resistor(tag("d4"), node("dp"), .ground, ohms: rs))
            e.append(.opAmp(tag("diff"), plus: node("dp"), minus: node("dm"), output: node("e")))
            // Enable gate: with ctl = 0 the integrator sees no error and u = 0.
            e.append(.behavioralVoltage(tag("gate"), node("eg"), .ground, expression: "V(\(node("e")))*V(\(Nodes.enable))"))
            e.append(.resistor(tag("i1"), node("eg"), node("im"), ohms: rs))
            e.append(.resistor(tag("i2"), node("im"), node("egn"), ohms: rs))
            e.append(.opAmp(tag("einv"), plus: .ground, minus: node("im"), output: node("egn")))
            // Leaky integrator: output −s·u_int, τ_u = R_e·C_u, α = R_e/R_α.
            e.append(.resistor(tag("int"), node("eg"), node("isum"), ohms: re))
            e.append(.capacitor(tag("int"), node("isum"), node("uintn"), farads: tauU / re))
            let alpha = max(c.control.alpha, 1e-9)   // α = 0 would leave the integrator without DC feedback
            switch c.conventions.leak {
            case .integral:
                e.append(.resistor(tag("leak"), node("isum"), node("uintn"), ohms: re / alpha))
            case .total:
                // Leaking the total u: feed −s·u into the integrator's summing node.
                e.append(.resistor(tag("leak"), Nodes.control(k, plus: false), node("isum"), ohms: re / alpha))
            }
            e.append(.opAmp(tag("integrator"), plus: .ground, minus: node("isum"), output: node("uintn")))
            // Summing stage: u = u_int + k_p e, from −s·u_int and −s·e.
            e.append(.resistor(tag("s1"), node("uintn"), node("ssum"), ohms: rs))
            if c.control.kp > 0 { e.append(.resistor(tag("s2"), node("egn"), node("ssum"), ohms: rs / c.control.kp)) }
            e.append(.resistor(tag("sF"), node("ssum"), Nodes.control(k, plus: true), ohms: rs))
            e.append(.opAmp(tag("sum"), plus: .ground, minus: node("ssum"), output: Nodes.control(k, plus: true)))
            e.append(.resistor(tag("u1"), Nodes.control(k, plus: true), node("um"), ohms: rs))
            e.append(.resistor(tag("u2"), node("um"), Nodes.control(k, plus: false), ohms: rs))
            e.append(.opAmp(tag("uinv"), plus: .ground, minus: node("um"), output: Nodes.control(k, plus: false)))
            if let dac = p.converters.write {
                let uq = dac.expression(of: Nodes.control(k, plus: true), signalScale: s)
                e.append(.behavioralVoltage(tag("dac"), Nodes.controlWritten(k, plus: true), .ground, expression: uq))
                e.append(.behavioralVoltage(tag("dacn"), Nodes.controlWritten(k, plus: false), .ground, expression: "-(\(uq))"))
            }
            observables += [
                Observable(node: Nodes.control(k, plus: true), signal: .control(output: k), scale: 1 / s),
                Observable(node: node("e"), signal: .error(output: k), scale: 1 / s),
            ]
        }
        circuit.elements = e

        let step = outputStep
        let stop = p.tranStop ?? Double(c.control.steps) * c.control.dt * p.timeScale
        circuit.directives = [
            .save(observables.map(\.node)),
            .transient(step: step, stop: stop, maxStep: p.maxStep ?? step),
        ]
        if let pair = p.activation.transistorCircuit, network.activations.contains(.tanh) {
            circuit.subcircuits.append(pair.subcircuit(signalScale: s))
            circuit.models += pair.models
            circuit.header.append("tanh from a \(pair.summary).")
        }
        if p.temperature != BJTPairActivation.nominalTemperature {
            circuit.directives.append(.options([("temp", NgspiceDialect.number(p.temperature))]))
        }
        circuit.header = circuit.header + [
            "DFC network \(network.sizes.map(String.init).joined(separator: "-")) mapped by DFCSpice (docs/circuit-mapping.md).",
            "phase \(phase.rawValue): alterparam ctl_level=1 (controlled) or 0 (feedforward) switches it.",
            "signal scale \(s) V/unit; time scale \(p.timeScale) s/unit (tau_v = \(tauV) s, tau_u = \(tauU) s).",
            "k_p = \(c.control.kp), alpha = \(c.control.alpha) (\(c.conventions.leak.rawValue) leak), op-amp \(p.opAmp.summary).",
            "devices: G in [\(p.device.gMin), \(p.device.gMax)] S, " + (p.device.levels > 0 ? "\(p.device.levels) levels" : "continuous")
                + ", programming noise \(p.device.programmingNoise), stuck on/off \(p.device.stuckOnFraction)/\(p.device.stuckOffFraction)"
                + (p.device.drifts ? ", drift nu \(p.device.driftNu) +/- \(p.device.driftNuSpread) read \(p.device.driftTime) s after programming (t_c \(p.device.driftReferenceTime) s)" : "")
                + ", device seed \(p.deviceSeed ?? c.seed).",
            "node names: L<layer>_N<neuron>_{soma,basal,apical,rp,rn}, U<k>_{p,n}, C<k>_e; neurons and outputs count from 0.",
            "voltages: soma = +s*v, basal = -s*vB, apical = -s*vA, rp = +s*r, U_p = +s*u, C_e = +s*e.",
        ]
        circuit.header += p.device.physicsParts.map { "device physics: \($0)." }
        if !p.converters.isEmpty { circuit.header.append("converters (behavioral quantizers): \(p.converters.summary).") }
        try circuit.validate()
        return MappedCircuit(circuit: circuit, realised: realised, observables: observables, gUnitForward: gUnitW,
                             gUnitFeedback: gUnitQ, clippedWeights: clipped, stuckDevices: stuck)
    }

    /// The cells of array `array`: the device model's I–V nonlinearity and read noise. The noise
    /// is fresh for every read: its seed follows the device seed, the array, the programming
    /// round and the input, so a sample's transient is reproducible and two samples differ.
    public func cellPhysics(array: UInt64, input: [Double], programmingRound: UInt64) -> CellPhysics {
        let d = parameters.device
        var cells = CellPhysics()
        cells.nonlinearityVoltage = d.nonlinearityVoltage
        guard d.readNoise > 0 || d.readNoise1f > 0 else { return cells }
        cells.white = d.readNoise
        cells.pink = d.readNoise1f
        cells.step = transientStep
        cells.stop = parameters.tranStop ?? Double(configuration.control.steps) * configuration.control.dt * parameters.timeScale
        cells.seed = SeededGenerator(seed: parameters.deviceSeed ?? configuration.seed).derived(0x4EAD)
            .derived(programmingRound).derived(array).derived(Matrix(row: input).fingerprint).state.0
        return cells
    }

    /// ngspice commands that switch a loaded circuit of this mapper to `phase` with output targets
    /// `target` (volts at the target sources), without loading it again: the enable source's
    /// ramp set to its level, each target source's value altered.
    public func continuationCommands(phase: ControllerPhase, targetVolts target: [Double]) -> [String] {
        let rise = parameters.enableRise * configuration.control.tauV * parameters.timeScale
        let level = phase == .controlled ? 1.0 : 0.0
        return ["alter vctl pwl = [ 0 0 \(NgspiceDialect.number(rise)) \(NgspiceDialect.number(level)) ]"]
            + target.enumerated().map { "alter vc\($0.offset)_target dc = \(NgspiceDialect.number($0.element))" }
    }

    /// The `.tran` step (and largest internal step), seconds: `circuit.tranStep`, or by default
    /// max(dt, τ_v/10) in model time — ten points per τ_v. Measured on the student–teacher
    /// circuit (docs/results.md): steps from dt up to τ_v/4 leave the traces, the steady state
    /// and ΔW unchanged against the ideal run (ngspice still refines its internal steps where
    /// its truncation-error control asks), while fewer points make the transient cheaper.
    public var transientStep: Double {
        parameters.tranStep ?? max(configuration.control.dt, configuration.control.tauV / 10) * parameters.timeScale
    }

    /// The feedback resistor that gives an inverting stage with inputs of total
    /// conductance G_in exactly the gain −R_F0·G of an infinite-gain op-amp at DC:
    /// with gain A the stage gives −R_F G/(1 + (1 + R_F G_in)/A), so
    /// R_F = R_F0 (1 + 1/A)/(1 − R_F0 G_in/A).
    func trimmed(_ rf0: Double, inputConductance gIn: Double) -> Double {
        guard parameters.trimFiniteGain else { return rf0 }
        let gain = parameters.opAmp.dcGain
        let denominator = 1 - rf0 * gIn / gain
        guard gain.isFinite, denominator > 0.5 else { return rf0 }
        return rf0 * (1 + 1 / gain) / denominator
    }

    func phiExpression(_ a: Activation, _ soma: SpiceName, _ s: Double) -> String {
        let n = NgspiceDialect.number
        switch a {
        case .linear: return "V(\(soma))"
        case .tanh: return "\(n(s))*tanh(V(\(soma))/\(n(s)))"
        case .relu: return "max(V(\(soma)), 0)"
        case .sigmoid: return "\(n(s))/(1+exp(-V(\(soma))/\(n(s))))"
        }
    }
}
