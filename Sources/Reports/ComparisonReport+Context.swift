import Circuit
import DFC

extension ComparisonReport {
    /// The header of every circuit comparison (`compare`, the demo): which config, network,
    /// model and seed, and what the circuit is made of, so a report read alone says what it shows.
    public static func circuitContext(config: String, configuration c: Configuration, model: String, circuit p: CircuitParameters,
                                      engine: String, referenceWeights: String, referencePhi: String) -> [(String, String)] {
        [("config", config), ("network", c.sizes.map(String.init).joined(separator: "-")),
         ("model", model), ("seed", "\(c.seed)"), ("op-amp", p.opAmp.summary),
         ("devices", p.device.levels > 0 ? "\(p.device.levels) levels" : "continuous"),
         ("programming noise, stuck on/off", "\(p.device.programmingNoise), \(p.device.stuckOnFraction)/\(p.device.stuckOffFraction)"),
         ("drift", p.device.drifts ? "ν \(p.device.driftNu) ± \(p.device.driftNuSpread), read \(p.device.driftTime) s after programming (t_c \(p.device.driftReferenceTime) s)" : "off"),
         ("device physics", p.device.physicsSummary),
         ("wire resistance", p.wire.isResistive ? "rows \(p.wire.rowSegment) Ω, columns \(p.wire.columnSegment) Ω per cell, driver \(p.wire.driver) Ω, TIA \(p.wire.rowEnd) Ω" : "off (ideal wires)"),
         ("φ (tanh)", p.activation.transistorCircuit?.summary ?? "behavioral (the equation)"),
         ("converters", p.converters.summary),
         ("temperature", "\(p.temperature) °C"),
         ("signal and time scale", "V_s = \(p.signalScale) V per unit, \(p.timeScale) s per model time unit"),
         ("engine", engine), ("reference run's weights", referenceWeights), ("reference run's φ", referencePhi),
         ("k_p, α, λ, τ_v, τ_u", "\(c.control.kp), \(c.control.alpha), \(c.control.lambda), \(c.control.tauV), \(c.control.tauU)")]
    }
}
