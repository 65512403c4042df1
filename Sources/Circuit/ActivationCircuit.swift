import Foundation

/// How φ = tanh is built in the circuit.
public enum ActivationCircuit: Sendable, Equatable {
    /// A behavioral source `B… V = s·tanh(V(soma)/s)`: the equation itself.
    case behavioral
    /// A bipolar differential pair (`BJTPairActivation`): tanh from two transistors.
    case bjtPair(BJTPairActivation)
    /// A MOS differential pair (`MOSPairActivation`): tanh-like, with the square law's hard saturation.
    case mosPair(MOSPairActivation)
    /// A MOS differential pair in BSIM4 (`BSIM4PairActivation`): a 45 nm process's devices.
    case bsim4Pair(BSIM4PairActivation)

    /// The transistor circuit, or nil for the equation.
    public var transistorCircuit: (any TransistorActivation)? {
        switch self {
        case .behavioral: nil
        case .bjtPair(let pair): pair
        case .mosPair(let pair): pair
        case .bsim4Pair(let pair): pair
        }
    }
}

/// How the parts around a differential pair are built.
public enum PairStages: String, Sendable, Equatable, CaseIterable {
    /// An ideal reference current, a VCVS attenuator and a VCVS output: the pair alone is real.
    case ideal
    /// The reference current from a resistor to the rail, the attenuator a resistive divider and
    /// the output a difference amplifier made of the circuit's own op-amp (`PairOutputStage`).
    case circuit
}

/// φ built from transistors: a subcircuit `<name> in out` with its model cards (with
/// `PairStages.circuit`, `<name> in c1 c2` and the output stage outside, see `PairOutputStage`).
public protocol TransistorActivation: Sendable {
    var subcircuitName: SpiceName { get }
    var models: [ModelCard] { get }
    func subcircuit(signalScale s: Double) -> Subcircuit
    /// Which parts around the pair are circuits.
    var stages: PairStages { get }
    /// With `.circuit` stages: the load resistance and the gain G of the difference amplifier,
    /// out = G·(V(c2) − V(c1)); nil for ideal stages.
    func outputStage(signalScale s: Double) -> PairOutputStage?
    /// One line for headers and reports.
    var summary: String { get }
    /// The first out-of-range parameter and why, or nil.
    var problem: (key: String, reason: String)? { get }
}

/// φ = tanh from silicon: a bipolar differential pair, whose collector currents split the tail
/// current as ΔI = α·I_EE·tanh(V_d / 2V_T) (Ebers–Moll, α = β/(β + 1)).
///
///     in ── E_att (gain 2V_T/s) ── Q1 base     Q2 base ── ground
///     Q1, Q2 emitters ── Q6 (mirror of Q5 and I_ref) ── −5 V;  collectors ── R_C ── +5 V
///     out = (V(c2) − V(c1)) · s / (R_C·α·I_EE) = s·tanh(V(in)/s)   (at the nominal temperature)
///
/// The attenuator sets one model unit of v (s volts at the soma) to 2V_T at the pair at 27 °C;
/// at another temperature V_T = kT/q moves and the slope of φ with it, by T₀/T. The transistors
/// are ngspice's Gummel–Poon model with an ideal card (no parasitic resistances, no Early
/// effect, β = `beta`), so what remains is the pair's own physics.
public struct BJTPairActivation: TransistorActivation, Equatable {
    /// Tail current I_EE, amperes.
    public var tailCurrent = 100e-6
    /// Collector load R_C, ohms: R_C·I_EE must stay well below the 5 V supply.
    public var loadResistance = 5e3
    /// Forward current gain β of the transistor model.
    public var beta = 1e4
    /// Ideal or circuit reference, attenuator and output.
    public var stages = PairStages.ideal

    public init(tailCurrent: Double = 100e-6, loadResistance: Double = 5e3, beta: Double = 1e4, stages: PairStages = .ideal) {
        self.tailCurrent = tailCurrent
        self.loadResistance = loadResistance
        self.beta = beta
        self.stages = stages
    }

    /// The temperature the attenuator is designed for, °C (ngspice's nominal temperature).
    public static let nominalTemperature = 27.0

    /// V_T = kT/q at `celsius`, volts, with the constants ngspice uses.
    public static func thermalVoltage(celsius: Double) -> Double {
        1.38064852e-23 * (celsius + 273.15) / 1.6021766208e-19
    }

    public var alpha: Double { beta / (beta + 1) }

    public static let subcircuitName = SpiceName("phi_bjt")
    public static let modelName = SpiceName("qnpn_ideal")
    public var subcircuitName: SpiceName { Self.subcircuitName }

    /// The transistor model card.
    public var model: ModelCard {
        ModelCard(name: Self.modelName, type: "NPN", parameters: [("IS", 1e-16), ("BF", beta), ("BR", 1), ("VAF", 0), ("RB", 0), ("RC", 0), ("RE", 0)])
    }
    public var models: [ModelCard] { [model] }

    /// tanh(v): ΔI = α·I_EE·tanh(V_d/2V_T) with V_d = 2V_T·v.
    public func closedForm(_ v: Double) -> Double { Foundation.tanh(v) }

    public var summary: String {
        "BJT differential pair (subcircuit phi_bjt): I_EE = \(tailCurrent) A, R_C = \(loadResistance) Ohm, beta = \(beta)"
            + (stages == .circuit ? ", resistor-set reference, divider attenuator, op-amp output" : "")
    }

    public func outputStage(signalScale s: Double) -> PairOutputStage? {
        stages == .circuit ? PairOutputStage(loadResistance: loadResistance, gain: s / (loadResistance * alpha * tailCurrent)) : nil
    }

    /// The subcircuit `phi_bjt in out` for signal scale `s` (volts per model unit).
    public func subcircuit(signalScale s: Double) -> Subcircuit {
        let vt = Self.thermalVoltage(celsius: Self.nominalTemperature)
        func n(_ t: String) -> SpiceName { SpiceName(t) }
        let circuit = stages == .circuit
        // The tail: an NPN mirror of a reference current; its base currents take 2/β of the
        // reference, so the reference is I_EE·(1 + 2/β) and the tail I_EE.
        let reference = tailCurrent * (1 + 2 / beta)
        // With circuit stages the reference comes from a resistor to the positive rail, sized
        // by Ebers–Moll for the diode-connected P5's V_BE at 27 °C.
        let vbe = vt * Foundation.log(reference / 1e-16 + 1)
        let e: [Element] = [
            .voltageSource(n("cc"), n("vcc"), .ground, .dc(5)),
            .voltageSource(n("ee"), n("vee"), .ground, .dc(-5)),
        ] + (circuit ? PairOutputStage.divider(ratio: 2 * vt / s) : [.vcvs(n("att"), n("b1"), .ground, n("in"), .ground, gain: 2 * vt / s)]) + [
            .bjt(n("p1"), collector: n("c1"), base: n("b1"), emitter: n("e"), model: Self.modelName),
            .bjt(n("p2"), collector: n("c2"), base: circuit ? n("b2") : .ground, emitter: n("e"), model: Self.modelName),
            circuit ? .resistor(n("ref"), n("vcc"), n("r"), ohms: (10 - vbe) / reference) : .currentSource(n("ref"), .ground, n("r"), .dc(reference)),
            .bjt(n("p5"), collector: n("r"), base: n("r"), emitter: n("vee"), model: Self.modelName),
            .bjt(n("p6"), collector: n("e"), base: n("r"), emitter: n("vee"), model: Self.modelName),
            .resistor(n("c1"), n("vcc"), n("c1"), ohms: loadResistance),
            .resistor(n("c2"), n("vcc"), n("c2"), ohms: loadResistance),
        ] + (circuit ? [] : [.vcvs(n("out"), n("out"), .ground, n("c2"), n("c1"), gain: s / (loadResistance * alpha * tailCurrent))])
        return Subcircuit(name: Self.subcircuitName, ports: stages.ports, elements: e)
    }

    /// The first out-of-range parameter and why, or nil.
    public var problem: (key: String, reason: String)? {
        for (key, v) in [("tailCurrent", tailCurrent), ("loadResistance", loadResistance), ("beta", beta)] where !(v.isFinite && v > 0) {
            return (key, "must be positive and finite, got \(v)")
        }
        guard tailCurrent * loadResistance < 2.5 else {
            return ("loadResistance", "R_C·I_EE = \(tailCurrent * loadResistance) V would saturate the pair on its 5 V supply (keep it below 2.5 V)")
        }
        return nil
    }
}

extension PairStages {
    /// The pair subcircuit's ports.
    var ports: [SpiceName] { self == .ideal ? [SpiceName("in"), SpiceName("out")] : [SpiceName("in"), SpiceName("c1"), SpiceName("c2")] }
}

/// The parts of `PairStages.circuit` that are the same for every pair.
///
/// Attenuator: `in ── R_a ── b1 ── R_b ── ground` sets the gate or base to k·V(in) with
/// R_b = 10 kΩ and R_a = R_b(1/k − 1); the other input sees R_a ∥ R_b to ground, so equal base
/// currents drop equal voltages and add no offset. Output: a difference amplifier of the
/// circuit's op-amp, out = G·(V(c2) − V(c1)) with R₁ = 100·R_load, so the amplifier draws
/// about 1 % of a load's current; the op-amp's own errors are part of the measured curve.
public struct PairOutputStage: Sendable, Equatable {
    /// The pair's load resistor, ohms.
    public var loadResistance: Double
    /// G, volts out per volt of V(c2) − V(c1).
    public var gain: Double

    static let dividerResistance = 10e3

    static func divider(ratio k: Double) -> [Element] {
        func n(_ t: String) -> SpiceName { SpiceName(t) }
        let rb = dividerResistance, ra = dividerResistance * (1 / k - 1)
        return [.resistor(n("atta"), n("in"), n("b1"), ohms: ra), .resistor(n("attb"), n("b1"), .ground, ohms: rb),
                .resistor(n("bal"), n("b2"), .ground, ohms: ra * rb / (ra + rb))]
    }

    /// The amplifier's elements: `name` makes the element names, `node` the internal nodes.
    public func elements(name: (String) -> SpiceName, node: (String) -> SpiceName, c1: SpiceName, c2: SpiceName, output: SpiceName) -> [Element] {
        // The collector is a current source behind R_load, so the amplifier's input arm is
        // R_load + R₁: R₂ = G·(R₁ + R_load) makes the gain exact.
        let r1 = 100 * loadResistance, r2 = gain * (r1 + loadResistance)
        return [
            .resistor(name("phiR1p"), c2, node("phip"), ohms: r1),
            .resistor(name("phiR2p"), node("phip"), .ground, ohms: r2),
            .resistor(name("phiR1n"), c1, node("phin"), ohms: r1),
            .resistor(name("phiR2n"), node("phin"), output, ohms: r2),
            .opAmp(name("phiAmp"), plus: node("phip"), minus: node("phin"), output: output),
        ]
    }
}

extension TransistorActivation {
    /// The instance of the pair's subcircuit and, with circuit stages, its output amplifier,
    /// from `input` to `output`.
    public func instance(name: (String) -> SpiceName, node: (String) -> SpiceName, input: SpiceName, output: SpiceName, signalScale s: Double) -> [Element] {
        guard let stage = outputStage(signalScale: s) else {
            return [.instance(name("phi"), nodes: [input, output], subcircuit: subcircuitName)]
        }
        let c1 = node("phic1"), c2 = node("phic2")
        return [.instance(name("phi"), nodes: [input, c1, c2], subcircuit: subcircuitName)]
            + stage.elements(name: name, node: node, c1: c1, c2: c2, output: output)
    }
}
