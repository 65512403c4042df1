import Foundation

/// φ from an NMOS differential pair of a 45 nm process in ngspice's BSIM4 (level 54): what a
/// designer would simulate before tape-out, with mobility degradation, velocity saturation,
/// moderate inversion, DIBL and channel-length modulation that the square law leaves out.
///
///     in ── E (+g/2) ── M1 gate     M2 gate ── E (−g/2) ── in     (both around V_cm = 0.2 V)
///     M1, M2 sources ── M6 (mirror of M5 and I_ref) ── −0.6 V;  drains ── R_D ── +0.6 V
///     out = (V(d2) − V(d1)) · s / (R_D·I_SS)
///
/// Driving the gates differentially keeps the common source still, so the tail's finite output
/// resistance does not tilt the curve and φ(−v) = −φ(v) holds by symmetry. At the default bias
/// (I_SS = 20 µA, W/L = 10 µm / 1 µm) the pair works in moderate inversion and its curve is
/// close to tanh: φ(1) = 0.783, φ(2) = 0.982 (tanh: 0.762, 0.964). No closed form exists, so the
/// differential gate swing per model unit, `gateGain`, is a calibration: 0.1057 V gives
/// φ'(0) = 1.000 at 27 °C in ngspice-39 (a test holds it within 2 %). Another bias needs another
/// gain; `compare --ideal-phi circuit` measures the curve whatever it is.
///
/// The model card is the DC part of the Predictive Technology Model's 45 nm NMOS (ASU,
/// ptm.asu.edu, as shipped in ngspice's examples/kirchhoff/45nm_MGK_car2_gidlgisl.pm): threshold,
/// oxide, mobility, saturation velocity, short-channel and output-resistance parameters and
/// their temperature coefficients; gate tunnelling and the body and gate resistance networks
/// are off, capacitances are BSIM4's defaults. The rails are ±0.6 V, inside the process's 1.1 V.
public struct BSIM4PairActivation: TransistorActivation, Equatable {
    /// Tail current I_SS, amperes.
    public var tailCurrent = 20e-6
    /// Drain load R_D, ohms (R_D·I_SS below 0.25 V keeps the pair in saturation on ±0.6 V).
    public var loadResistance = 10e3
    /// W/L of each transistor (L = 1 µm).
    public var aspectRatio = 10.0
    /// Differential gate voltage per model unit of v, volts.
    public var gateGain = 0.1057

    public init(tailCurrent: Double = 20e-6, loadResistance: Double = 10e3, aspectRatio: Double = 10, gateGain: Double = 0.1057) {
        self.tailCurrent = tailCurrent
        self.loadResistance = loadResistance
        self.aspectRatio = aspectRatio
        self.gateGain = gateGain
    }

    public static let subcircuitName = SpiceName("phi_bsim4")
    public static let modelName = SpiceName("nmos_ptm45")
    public var subcircuitName: SpiceName { Self.subcircuitName }
    static let length = 1e-6
    static let rail = 0.6
    static let commonMode = 0.2

    public var models: [ModelCard] {
        [ModelCard(name: Self.modelName, type: "NMOS", parameters: [
            ("LEVEL", 54), ("VERSION", 4.7),
            ("TOXE", 9e-10), ("TOXP", 6.5e-10), ("TOXM", 9e-10), ("EPSROX", 3.9), ("WINT", 5e-9), ("LINT", 2.7e-9), ("XL", -20e-9),
            ("VTH0", 0.3423), ("K1", 0.2), ("K2", 0), ("DVT0", 1), ("DVT1", 2), ("DSUB", 0.078), ("MINV", 0.05),
            ("DVTP0", 1e-10), ("DVTP1", 0.1), ("XJ", 1.4e-8), ("NGATE", 1e23), ("NDEP", 6.5e18), ("NSD", 2e20),
            ("VOFF", -0.13), ("NFACTOR", 1.9), ("ETA0", 0.0055), ("VFB", -1.058),
            ("U0", 0.02947), ("UA", -5e-10), ("UB", 1.7e-18), ("UC", 0), ("VSAT", 159_550), ("A0", 1), ("KETA", 0.04),
            ("PCLM", 0.06), ("PDIBLC1", 0.001), ("PDIBLC2", 0.001), ("PDIBLCB", -0.005), ("DROUT", 0.5), ("PVAG", 1e-20),
            ("DELTA", 0.01), ("PSCBE1", 2e9), ("PSCBE2", 1e-7), ("FPROUT", 0.2), ("PDITS", 0.01), ("PDITSD", 0.23), ("PDITSL", 2.3e6),
            ("RSH", 5), ("RDSW", 105), ("RSW", 52.5), ("RDW", 52.5),
            ("KT1", -0.154), ("KT2", 0.022), ("UTE", -1.1), ("UA1", 1e-9), ("UB1", -1e-18), ("UC1", -5.6e-11), ("AT", 33_000),
            ("IGCMOD", 0), ("IGBMOD", 0), ("RBODYMOD", 0), ("RGATEMOD", 0),
        ])]
    }

    public func subcircuit(signalScale s: Double) -> Subcircuit {
        func n(_ t: String) -> SpiceName { SpiceName(t) }
        let width = aspectRatio * Self.length
        func mos(_ name: String, _ d: String, _ g: String, _ src: String, _ b: String) -> Element {
            .mosfet(n(name), drain: n(d), gate: n(g), source: n(src), bulk: n(b), model: Self.modelName, width: width, length: Self.length)
        }
        return Subcircuit(name: Self.subcircuitName, ports: [n("in"), n("out")], elements: [
            .voltageSource(n("dd"), n("vdd"), .ground, .dc(Self.rail)),
            .voltageSource(n("ss"), n("vss"), .ground, .dc(-Self.rail)),
            .voltageSource(n("cm"), n("cm"), .ground, .dc(Self.commonMode)),
            .vcvs(n("att1"), n("g1"), n("cm"), n("in"), .ground, gain: gateGain / 2 / s),
            .vcvs(n("att2"), n("g2"), n("cm"), n("in"), .ground, gain: -gateGain / 2 / s),
            // Bulks at the negative rail, as in a p-substrate: the body effect is part of the model.
            mos("p1", "d1", "g1", "src", "vss"),
            mos("p2", "d2", "g2", "src", "vss"),
            .currentSource(n("ref"), n("vdd"), n("r"), .dc(tailCurrent)),
            mos("p5", "r", "r", "vss", "vss"),
            mos("p6", "src", "r", "vss", "vss"),
            .resistor(n("d1"), n("vdd"), n("d1"), ohms: loadResistance),
            .resistor(n("d2"), n("vdd"), n("d2"), ohms: loadResistance),
            .vcvs(n("out"), n("out"), .ground, n("d2"), n("d1"), gain: s / (loadResistance * tailCurrent)),
        ])
    }

    /// The gates are driven differentially, which a divider cannot do: the stages stay ideal.
    public var stages: PairStages { .ideal }
    public func outputStage(signalScale s: Double) -> PairOutputStage? { nil }

    public var summary: String {
        "MOS differential pair (subcircuit phi_bsim4, BSIM4, PTM 45 nm): I_SS = \(tailCurrent) A, R_D = \(loadResistance) Ohm, W/L = \(aspectRatio), gate gain \(gateGain) V per unit"
    }

    public var problem: (key: String, reason: String)? {
        for (key, v) in [("tailCurrent", tailCurrent), ("loadResistance", loadResistance), ("aspectRatio", aspectRatio), ("gateGain", gateGain)]
            where !(v.isFinite && v > 0) {
            return (key, "must be positive and finite, got \(v)")
        }
        guard tailCurrent * loadResistance < 0.25 else {
            return ("loadResistance", "R_D·I_SS = \(tailCurrent * loadResistance) V would take the pair out of saturation on its ±0.6 V rails (keep it below 0.25 V)")
        }
        guard tailCurrent <= 1e-3 else {
            return ("tailCurrent", "\(tailCurrent) A is beyond what a 45 nm pair of this size carries in saturation on ±0.6 V (at most 1 mA)")
        }
        return nil
    }
}
