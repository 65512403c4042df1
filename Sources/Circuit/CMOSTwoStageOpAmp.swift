import Foundation

/// A two-stage CMOS op-amp at transistor level, Miller-compensated (the textbook topology):
///
///     stage 1: NMOS pair M1 (gate inn), M2 (gate inp), tail current I_1 from their sources to
///              V_SS; PMOS mirror M3 (diode, on M1) and M4 (on M2) to V_DD; output d2.
///     stage 2: PMOS common source M6 (gate d2) to V_DD, current sink I_2 to V_SS; output out.
///     Miller:  C_c with nulling resistor R_z = 1/g_m6 from d2 to out (the zero moves to ∞).
///
/// Square-law estimates (ngspice level-1 devices, λ gives the output conductances):
///   g_m = √(2β·I_D·(1 + λV_DS)),  g_ds = λ·I_D/(1 + λV_DS),
///   A₀ = g_m1/(g_ds2 + g_ds4) · g_m6/g_ds6,  GBW = g_m1/(2π·C_c).
/// The bias currents are ideal sources and the supplies ±5 V sources inside the subcircuit.
/// M6 is sized so its quiescent current is I_2 when d2 sits at the mirror's V_DD − V_SG3
/// ((W/L)₆ = 2·(W/L)₄·I_2/I_1, corrected for λ at out = 0 V), so the op-amp has no systematic offset.
public struct CMOSTwoStageOpAmp: Sendable, Equatable {
    /// Tail current of the input pair, A.
    public var tailCurrent = 20e-6
    /// Current of the second stage, A (it must sink what the op-amp's loads draw).
    public var outputCurrent = 500e-6
    /// Miller capacitor, F.
    public var compensation = 2e-12
    /// Process: KP (A/V²), |V_T| (V) and λ (1/V) of the NMOS and PMOS cards.
    public var kpN = 100e-6, kpP = 40e-6, thresholdVoltage = 0.5, lambdaN = 0.02, lambdaP = 0.04
    /// W/L of the input pair and of the mirror.
    public var inputAspect = 10.0, mirrorAspect = 10.0

    public init() {}

    /// V_SG of the mirror's diode M3 at I_1/2, with channel-length modulation (a fixed point).
    var mirrorGateVoltage: Double {
        var v = thresholdVoltage + 0.2
        for _ in 0..<20 { v = thresholdVoltage + (tailCurrent / (kpP * mirrorAspect * (1 + lambdaP * v))).squareRoot() }
        return v
    }

    /// W/L of M6: its current is I_2 with d2 at the mirror's V_DD − V_SG3 and out at 0 V (V_SD6 = 5 V),
    /// λ included, so the op-amp has no systematic offset at the operating point the stages use.
    public var outputAspect: Double {
        2 * mirrorAspect * outputCurrent / tailCurrent * (1 + lambdaP * mirrorGateVoltage) / (1 + lambdaP * 5)
    }
    /// V_DS of the input pair at balance: d1, d2 at V_DD − V_SG3, sources at −V_GS1.
    var inputDrainSource: Double {
        5 - mirrorGateVoltage + thresholdVoltage + (tailCurrent / (kpN * inputAspect)).squareRoot()
    }
    /// g_m = √(2β·I_D·(1 + λV_DS)) of M1 and M6 at their operating points (out at 0 V).
    public var gm1: Double { (2 * kpN * inputAspect * tailCurrent / 2 * (1 + lambdaN * inputDrainSource)).squareRoot() }
    public var gm6: Double { (2 * kpP * outputAspect * outputCurrent * (1 + lambdaP * 5)).squareRoot() }
    /// A₀ by the square law with g_ds = λI_D/(1 + λV_DS) (unloaded; the AC test measures it).
    public var estimatedGain: Double {
        let half = tailCurrent / 2
        let gds2 = lambdaN * half / (1 + lambdaN * inputDrainSource), gds4 = lambdaP * half / (1 + lambdaP * mirrorGateVoltage)
        let gds6 = lambdaP * outputCurrent / (1 + lambdaP * 5)
        return gm1 / (gds2 + gds4) * gm6 / gds6
    }
    /// GBW by g_m1/(2π C_c), Hz.
    public var estimatedGBW: Double { gm1 / (2 * Double.pi * compensation) }

    public static let subcircuitName = "opamp_cmos"

    /// The subcircuit `opamp_cmos inp inn out` with its two model cards.
    public var definition: [String] {
        let n = NgspiceDialect.number
        let l = 1e-6
        func w(_ aspect: Double) -> String { "W=\(n(aspect * l)) L=\(n(l))" }
        return [
            ".model nmos_oa NMOS(LEVEL=1 VTO=\(n(thresholdVoltage)) KP=\(n(kpN)) LAMBDA=\(n(lambdaN)) GAMMA=0)",
            ".model pmos_oa PMOS(LEVEL=1 VTO=\(n(-thresholdVoltage)) KP=\(n(kpP)) LAMBDA=\(n(lambdaP)) GAMMA=0)",
            ".subckt \(Self.subcircuitName) inp inn out",
            "Vdd vdd 0 DC 5",
            "Vss vss 0 DC -5",
            "M1 d1 inn src src nmos_oa \(w(inputAspect))",
            "M2 d2 inp src src nmos_oa \(w(inputAspect))",
            "I1 src vss DC \(n(tailCurrent))",
            "M3 d1 d1 vdd vdd pmos_oa \(w(mirrorAspect))",
            "M4 d2 d1 vdd vdd pmos_oa \(w(mirrorAspect))",
            "M6 out d2 vdd vdd pmos_oa \(w(outputAspect))",
            "I2 out vss DC \(n(outputCurrent))",
            "Rz d2 cz \(n(1 / gm6))",
            "Cc cz out \(n(compensation))",
            // Newton from 0 V finds every transistor off; the bias point as a starting guess
            // spares ngspice the gmin stepping (and its warnings) on every operating point.
            ".nodeset v(d1)=\(n(5 - mirrorGateVoltage)) v(d2)=\(n(5 - mirrorGateVoltage)) v(cz)=\(n(5 - mirrorGateVoltage))"
                + " v(src)=\(n(-inputDrainSource + 5 - mirrorGateVoltage))",
            ".ends \(Self.subcircuitName)",
        ]
    }

    public var summary: String {
        String(format: "two-stage CMOS (Miller, level 1): I_1 %g A, I_2 %g A, C_c %g F; A0 ~ %.3g, GBW ~ %.3g Hz (square law)",
               tailCurrent, outputCurrent, compensation, estimatedGain, estimatedGBW)
    }

    public var problem: (key: String, reason: String)? {
        for (key, v) in [("tailCurrent", tailCurrent), ("outputCurrent", outputCurrent), ("compensation", compensation)] where !(v.isFinite && v > 0) {
            return (key, "must be positive and finite, got \(v)")
        }
        return nil
    }
}
