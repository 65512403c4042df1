/// The learning methods `dfcspice` can run. Raw values are the names used in
/// configs, on the command line and in reports.
public enum Variant: String, Sendable, Codable, CaseIterable {
    /// Simulate the dynamics, average the plasticity of Eq. 5 over the run.
    case dfc
    /// Simulate, update from the final (steady) state only.
    case dfcSS = "dfc-ss"
    /// No simulation: Lemma 1's linearized steady state.
    case dfcSSA = "dfc-ssa"
    /// The same three with Q fixed to the weight-product initialization (no feedback learning).
    case dfcFixed = "dfc-fixed"
    case dfcSSFixed = "dfc-ss-fixed"
    case dfcSSAFixed = "dfc-ssa-fixed"
    /// Error backpropagation.
    case bp
    /// Direct feedback alignment (the Q_i serve as DFA's B_i).
    case dfa
    /// Feedback alignment (layer-wise random B_i of the shape of W_iᵀ).
    case fa
    /// DFA whose direct feedback Q_i learns by the difference reconstruction loss of
    /// DDTP-linear (Meulemans et al. 2020): what the DFC paper's published code runs for
    /// its "DFA" row (a `DDTPMLPNetwork` with linear feedback, feedback pre-trained for 10
    /// epochs and trained again before each forward epoch).
    case ddtpLinear = "ddtp-linear"

    /// The simulated, steady-state or analytic family this variant belongs to.
    public enum Family: Sendable { case trajectory, steadyState, analytic, baseline }

    public var family: Family {
        switch self {
        case .dfc, .dfcFixed: .trajectory
        case .dfcSS, .dfcSSFixed: .steadyState
        case .dfcSSA, .dfcSSAFixed: .analytic
        case .bp, .dfa, .fa, .ddtpLinear: .baseline
        }
    }

    /// Variants whose feedback weights learn: the DFC ones by Eq. 13, `ddtp-linear` by the
    /// difference reconstruction loss.
    public var learnsFeedback: Bool {
        switch self {
        case .dfc, .dfcSS, .dfcSSA, .ddtpLinear: true
        default: false
        }
    }

    public var isDFC: Bool { family != .baseline }

    /// Parses a name, with the list of valid names in the error.
    public static func named(_ name: String) throws -> Variant {
        guard let v = Variant(rawValue: name) else {
            throw ModelError("unknown variant '\(name)' (expected one of: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return v
    }
}
