import DFC
import DynamicInversion

/// The `dynamicInversion` section: how the DI paper's experiments run (docs/config.md).
public struct InversionExperiment: Sendable, Equatable {
    public var parameters = InversionParameters()
    public var initialization: FeedbackInitialization = .transpose
    /// R-Init's stability margin: every controller's max Re λ ≤ −margin.
    public var margin = 0.05
    /// Fixed-norm updates (the DI paper's Fig. 3b).
    public var fixedNorm = false
    /// The rules `dfcspice di` trains, one run each.
    public var rules: [InversionRule] = [.bp, .fa, .pbp, .ndi, .di]

    public init() {}

    /// The trainer's settings from this section and the config's `training` section
    /// (learningRate, batchSize, epochs).
    public func training(_ t: TrainingParameters) -> InversionTraining {
        var out = InversionTraining()
        out.learningRate = t.learningRate
        out.batchSize = t.batchSize
        out.epochs = t.epochs
        out.fixedNorm = fixedNorm
        return out
    }
}

extension ConfigurationLoader {
    static func parseInversion(_ value: Any, reader: Reader) throws -> InversionExperiment {
        var e = InversionExperiment()
        let m = try reader.mapping(value, "dynamicInversion")
        try reader.keys(m, allowed: ["alpha", "dt", "steps", "tolerance", "adaptiveStep", "init", "margin", "fixedNorm", "rules"],
                        at: "dynamicInversion")
        if let v = m["alpha"] { e.parameters.alpha = try reader.double(v, "dynamicInversion.alpha") }
        if let v = m["dt"] { e.parameters.dt = try reader.double(v, "dynamicInversion.dt") }
        if let v = m["steps"] { e.parameters.steps = try reader.int(v, "dynamicInversion.steps") }
        if let v = m["tolerance"] { e.parameters.tolerance = try reader.double(v, "dynamicInversion.tolerance") }
        if let v = m["margin"] { e.margin = try reader.double(v, "dynamicInversion.margin") }
        if let v = m["adaptiveStep"] { e.parameters.adaptiveStep = try reader.bool(v, "dynamicInversion.adaptiveStep") }
        if let v = m["fixedNorm"] { e.fixedNorm = try reader.bool(v, "dynamicInversion.fixedNorm") }
        if let v = m["init"] { e.initialization = try reader.choice(v, "dynamicInversion.init", FeedbackInitialization.self) }
        if let v = m["rules"] {
            e.rules = try reader.list(v, "dynamicInversion.rules").enumerated().map {
                try reader.choice($0.element, "dynamicInversion.rules[\($0.offset)]", InversionRule.self)
            }
        }
        guard e.parameters.alpha >= 0 else { throw reader.fail("dynamicInversion.alpha", "must be ≥ 0, got \(e.parameters.alpha)") }
        guard e.parameters.dt > 0 else { throw reader.fail("dynamicInversion.dt", "must be positive, got \(e.parameters.dt)") }
        guard e.parameters.steps > 0 else { throw reader.fail("dynamicInversion.steps", "must be positive, got \(e.parameters.steps)") }
        guard e.parameters.tolerance > 0 else { throw reader.fail("dynamicInversion.tolerance", "must be positive") }
        guard e.margin >= 0 else { throw reader.fail("dynamicInversion.margin", "must be ≥ 0, got \(e.margin)") }
        guard !e.rules.isEmpty else { throw reader.fail("dynamicInversion.rules", "list at least one rule") }
        return e
    }
}
