import Foundation

/// How φ = tanh is built in the circuit.
public enum ActivationCircuit: Sendable, Equatable {
    /// A behavioral source `B… V = s·tanh(V(soma)/s)`: the equation itself.
    case behavioral
    /// A bipolar differential pair (`BJTPairActivation`): tanh from two transistors.
    case bjtPair(BJTPairActivation)
    /// A MOS differential pair (`MOSPairActivation`): tanh-like, with the square law's hard saturation.
    case mosPair(MOSPairActivation)

    /// The transistor circuit, or nil for the equation.
    public var transistorCircuit: (any TransistorActivation)? {
        switch self {
        case .behavioral: nil
        case .bjtPair(let pair): pair
        case .mosPair(let pair): pair
        }
    }
}

/// φ built from transistors: a subcircuit `<name> in out` with its model cards.
public protocol TransistorActivation: Sendable {
    var subcircuitName: SpiceName { get }
    var models: [ModelCard] { get }
    func subcircuit(signalScale s: Double) -> Subcircuit
    /// The circuit's φ in model units by its device equations at the nominal temperature.
    func closedForm(_ v: Double) -> Double
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

    public init(tailCurrent: Double = 100e-6, loadResistance: Double = 5e3, beta: Double = 1e4) {
        self.tailCurrent = tailCurrent
        self.loadResistance = loadResistance
        self.beta = beta
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
    }

    /// The subcircuit `phi_bjt in out` for signal scale `s` (volts per model unit).
    public func subcircuit(signalScale s: Double) -> Subcircuit {
        let vt = Self.thermalVoltage(celsius: Self.nominalTemperature)
        func n(_ t: String) -> SpiceName { SpiceName(t) }
        return Subcircuit(name: Self.subcircuitName, ports: [n("in"), n("out")], elements: [
            .voltageSource(n("cc"), n("vcc"), .ground, .dc(5)),
            .voltageSource(n("ee"), n("vee"), .ground, .dc(-5)),
            .vcvs(n("att"), n("b1"), .ground, n("in"), .ground, gain: 2 * vt / s),
            .bjt(n("p1"), collector: n("c1"), base: n("b1"), emitter: n("e"), model: Self.modelName),
            .bjt(n("p2"), collector: n("c2"), base: .ground, emitter: n("e"), model: Self.modelName),
            // The tail: an NPN mirror of a reference current; its base currents take 2/β of the
            // reference, so the reference is I_EE·(1 + 2/β) and the tail I_EE.
            .currentSource(n("ref"), .ground, n("r"), .dc(tailCurrent * (1 + 2 / beta))),
            .bjt(n("p5"), collector: n("r"), base: n("r"), emitter: n("vee"), model: Self.modelName),
            .bjt(n("p6"), collector: n("e"), base: n("r"), emitter: n("vee"), model: Self.modelName),
            .resistor(n("c1"), n("vcc"), n("c1"), ohms: loadResistance),
            .resistor(n("c2"), n("vcc"), n("c2"), ohms: loadResistance),
            .vcvs(n("out"), n("out"), .ground, n("c2"), n("c1"), gain: s / (loadResistance * alpha * tailCurrent)),
        ])
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
