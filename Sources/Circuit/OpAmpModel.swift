import LinearAlgebra

/// The op-amp model every amplifier of a mapped circuit uses.
public enum OpAmpModel: Sendable, Equatable {
    /// A voltage-controlled voltage source of gain A: out = A·(v₊ − v₋).
    case ideal(gain: Double)
    /// One pole: DC gain A, gain–bandwidth product GBW (Hz); output clamped to
    /// ±rail volts when rail > 0.
    case singlePole(gain: Double, gbw: Double, rail: Double)
    /// A behavioural macromodel of a real op-amp (`OpAmpMacromodel`): one pole, slew
    /// rate, output swing, input offset and bias currents, offsets drawn per instance.
    case macromodel(OpAmpMacromodel)
    /// Transistors: a two-stage Miller-compensated CMOS op-amp (`CMOSTwoStageOpAmp`).
    case cmosTwoStage(CMOSTwoStageOpAmp)

    /// A₀, the open-loop gain at DC (for the CMOS op-amp, its square-law estimate).
    public var dcGain: Double {
        switch self {
        case .ideal(let a), .singlePole(let a, _, _): a
        case .macromodel(let m): m.gain
        case .cmosTwoStage(let o): o.estimatedGain
        }
    }

    /// The output clamp in volts, or nil when the output is not limited.
    public var outputLimit: Double? {
        switch self {
        case .ideal: nil
        case .singlePole(_, _, let rail): rail > 0 ? rail : nil
        case .macromodel(let m): m.swing > 0 ? m.swing : nil
        case .cmosTwoStage: 5
        }
    }

    /// For netlist headers and reports.
    public var summary: String {
        switch self {
        case .ideal(let a): "ideal VCVS, A = \(a)"
        case .singlePole(let a, let gbw, let rail): "single pole, A = \(a), GBW = \(gbw) Hz" + (rail > 0 ? ", rails ±\(rail) V" : "")
        case .macromodel(let m): m.summary
        case .cmosTwoStage(let o): o.summary
        }
    }
}

/// An op-amp as a datasheet describes it, in ngspice elements (`NgspiceDialect`):
///
///     inputs:  V_os in series with the + input, I_b from each input to ground
///     stage:   i = clamp(g_m·(v₊ − v₋), ±SR·C_p) into R_p ∥ C_p, g_m R_p = A₀,
///              so A(f) = A₀ / (1 + j f/f_p) with f_p = GBW/A₀, and dv/dt ≤ SR
///     output:  a unity buffer clamped to ±swing
///
/// The offset of each instance is drawn from N(0, σ_os²) by a generator seeded with the
/// device seed and the instance's name, so a circuit's offsets are reproducible, differ
/// between amplifiers, and do not change when other amplifiers are added.
public struct OpAmpMacromodel: Sendable, Equatable {
    /// A₀, open-loop DC gain (V/V).
    public var gain: Double = 1e5
    /// Gain–bandwidth product, Hz.
    public var gbw: Double = 1e7
    /// Slew rate, V/s (0: none).
    public var slewRate: Double = 0
    /// Output swing: the output stays within ±swing volts (0: unlimited).
    public var swing: Double = 0
    /// σ of the input offset voltage V_os, volts.
    public var offsetSigma: Double = 0
    /// Input bias current I_b drawn by each input, amperes.
    public var biasCurrent: Double = 0
    /// Seeds the per-instance offsets (the circuit's device seed).
    public var seed: UInt64 = 0

    public init(gain: Double = 1e5, gbw: Double = 1e7, slewRate: Double = 0, swing: Double = 0,
                offsetSigma: Double = 0, biasCurrent: Double = 0, seed: UInt64 = 0) {
        self.gain = gain
        self.gbw = gbw
        self.slewRate = slewRate
        self.swing = swing
        self.offsetSigma = offsetSigma
        self.biasCurrent = biasCurrent
        self.seed = seed
    }

    /// R_p of the gain stage, Ω: only the product g_m R_p = A₀ and R_p C_p = 1/(2π f_p) matter.
    static let stageResistance = 1e3

    /// The dominant pole f_p = GBW / A₀, Hz.
    public var pole: Double { gbw / gain }

    /// The offset voltage of the instance named `name`, volts.
    public func offset(of name: String) -> Double {
        guard offsetSigma > 0 else { return 0 }
        var f = Fingerprint(0x0FF5E7)
        for byte in name.utf8 { f.combine(UInt64(byte)) }
        var g = SeededGenerator(seed: seed).derived(f.value)
        return offsetSigma * g.nextNormal()
    }

    /// The name of the first parameter that is out of range, and why; nil when all are valid.
    public var problem: (key: String, reason: String)? {
        for (key, v) in [("gain", gain), ("gbw", gbw)] where !(v.isFinite && v > 0) {
            return (key, "must be positive and finite, got \(v)")
        }
        for (key, v) in [("slewRate", slewRate), ("swing", swing), ("offsetSigma", offsetSigma), ("biasCurrent", biasCurrent)]
            where !(v.isFinite && v >= 0) {
            return (key, "must be finite and ≥ 0, got \(v)")
        }
        return nil
    }

    var summary: String {
        var parts = ["macromodel, A = \(gain), GBW = \(gbw) Hz"]
        if slewRate > 0 { parts.append("SR = \(slewRate) V/s") }
        if swing > 0 { parts.append("swing ±\(swing) V") }
        if offsetSigma > 0 { parts.append("V_os σ = \(offsetSigma) V (seed \(seed))") }
        if biasCurrent > 0 { parts.append("I_b = \(biasCurrent) A") }
        return parts.joined(separator: ", ")
    }
}
