import Foundation

/// φ from a MOS differential pair in saturation (square law, I_D = (β/2)(V_GS − V_T)², β = KP·W/L):
///
///     ΔI = (β/2)·V_d·√(4·I_SS/β − V_d²)   for |V_d| ≤ √(2·I_SS/β), ±I_SS beyond.
///
/// An attenuator sets V_d = √(I_SS/β)·v, so the slope at 0 is that of tanh and
///
///     φ(v) = (v/2)·√(4 − v²)   for |v| ≤ √2,   sign(v) beyond,
///
/// the same shape near 0 as tanh but reaching its rails at |v| = √2, where tanh is at 0.89: the
/// real saturation of a MOS pair. The transistors are ngspice's level-1 MOSFET (Shichman–Hodges)
/// with a card without channel-length modulation or body effect (each pair's bulk is its common
/// source), so what remains is the square law; `out = (V(d2) − V(d1))·s/(R_D·I_SS)`.
public struct MOSPairActivation: TransistorActivation, Equatable {
    /// Tail current I_SS, amperes.
    public var tailCurrent = 100e-6
    /// Drain load R_D, ohms (R_D·I_SS below 2.5 V keeps the pair in saturation on ±5 V).
    public var loadResistance = 5e3
    /// Process transconductance KP = µ·C_ox, A/V².
    public var transconductance = 100e-6
    /// W/L of each transistor.
    public var aspectRatio = 10.0
    /// Ideal or circuit reference, attenuator and output.
    public var stages = PairStages.ideal

    public init(tailCurrent: Double = 100e-6, loadResistance: Double = 5e3, transconductance: Double = 100e-6, aspectRatio: Double = 10,
                stages: PairStages = .ideal) {
        self.tailCurrent = tailCurrent
        self.loadResistance = loadResistance
        self.transconductance = transconductance
        self.aspectRatio = aspectRatio
        self.stages = stages
    }

    /// V_T0 of the card, volts.
    static let threshold = 0.5

    public static let subcircuitName = SpiceName("phi_mos")
    public static let modelName = SpiceName("nmos_l1")
    public var subcircuitName: SpiceName { Self.subcircuitName }

    /// β = KP·W/L, A/V².
    public var beta: Double { transconductance * aspectRatio }
    /// Channel length of the written devices, metres (W follows from W/L).
    static let length = 1e-6

    public var models: [ModelCard] {
        [ModelCard(name: Self.modelName, type: "NMOS", parameters: [("LEVEL", 1), ("VTO", Self.threshold), ("KP", transconductance),
                                                                   ("LAMBDA", 0), ("GAMMA", 0)])]
    }

    public func closedForm(_ v: Double) -> Double {
        abs(v) >= 2.squareRoot() ? (v > 0 ? 1 : -1) : v / 2 * (4 - v * v).squareRoot()
    }

    public func subcircuit(signalScale s: Double) -> Subcircuit {
        func n(_ t: String) -> SpiceName { SpiceName(t) }
        let width = aspectRatio * Self.length
        let circuit = stages == .circuit
        let k = (tailCurrent / beta).squareRoot() / s
        // With circuit stages the reference comes from a resistor to the positive rail, sized by
        // the square law: V_GS = V_T + √(2I/β) at the diode-connected P5.
        let vgs = Self.threshold + (2 * tailCurrent / beta).squareRoot()
        let e: [Element] = [
            .voltageSource(n("dd"), n("vdd"), .ground, .dc(5)),
            .voltageSource(n("ss"), n("vss"), .ground, .dc(-5)),
        ] + (circuit ? PairOutputStage.divider(ratio: k) : [.vcvs(n("att"), n("g1"), .ground, n("in"), .ground, gain: k)]) + [
            .mosfet(n("p1"), drain: n("d1"), gate: circuit ? n("b1") : n("g1"), source: n("src"), bulk: n("src"), model: Self.modelName, width: width, length: Self.length),
            .mosfet(n("p2"), drain: n("d2"), gate: circuit ? n("b2") : .ground, source: n("src"), bulk: n("src"), model: Self.modelName, width: width, length: Self.length),
            // The tail: an NMOS mirror (no λ, so an exact copy) of a reference current.
            circuit ? .resistor(n("ref"), n("vdd"), n("r"), ohms: (10 - vgs) / tailCurrent) : .currentSource(n("ref"), .ground, n("r"), .dc(tailCurrent)),
            .mosfet(n("p5"), drain: n("r"), gate: n("r"), source: n("vss"), bulk: n("vss"), model: Self.modelName, width: width, length: Self.length),
            .mosfet(n("p6"), drain: n("src"), gate: n("r"), source: n("vss"), bulk: n("vss"), model: Self.modelName, width: width, length: Self.length),
            .resistor(n("d1"), n("vdd"), n("d1"), ohms: loadResistance),
            .resistor(n("d2"), n("vdd"), n("d2"), ohms: loadResistance),
        ] + (circuit ? [] : [.vcvs(n("out"), n("out"), .ground, n("d2"), n("d1"), gain: s / (loadResistance * tailCurrent))])
        var sub = Subcircuit(name: Self.subcircuitName, ports: stages.ports, elements: e)
        if circuit { sub.ports = [n("in"), n("d1"), n("d2")] }
        return sub
    }

    public func outputStage(signalScale s: Double) -> PairOutputStage? {
        stages == .circuit ? PairOutputStage(loadResistance: loadResistance, gain: s / (loadResistance * tailCurrent)) : nil
    }

    public var summary: String {
        "MOS differential pair (subcircuit phi_mos, level 1): I_SS = \(tailCurrent) A, R_D = \(loadResistance) Ohm, KP = \(transconductance) A/V^2, W/L = \(aspectRatio)"
            + (stages == .circuit ? ", resistor-set reference, divider attenuator, op-amp output" : "")
    }

    public var problem: (key: String, reason: String)? {
        for (key, v) in [("tailCurrent", tailCurrent), ("loadResistance", loadResistance), ("transconductance", transconductance), ("aspectRatio", aspectRatio)]
            where !(v.isFinite && v > 0) {
            return (key, "must be positive and finite, got \(v)")
        }
        guard tailCurrent * loadResistance < 2.5 else {
            return ("loadResistance", "R_D·I_SS = \(tailCurrent * loadResistance) V would take the pair out of saturation on its 5 V supply (keep it below 2.5 V)")
        }
        return nil
    }
}
