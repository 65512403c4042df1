import LinearAlgebra

extension Network {
    /// A freshly initialized network for `configuration`, every draw from `seed`.
    ///
    /// W_i ~ N(0, 2/(n_i + n_{i−1})) (Xavier normal), b_i = 0, Q_i by
    /// `configuration.feedbackInit` (Q_L = I when `outputFeedback` is `identity`), and FA's B_i ~ Xavier normal. Separate derived
    /// streams keep W identical whatever Q and B draw.
    public static func initialized(_ configuration: Configuration, seed: UInt64) throws -> Network {
        try configuration.validate()
        let sizes = configuration.sizes
        let L = sizes.count - 1
        let root = SeededGenerator(seed: seed)
        var forward = root.derived(1)
        var feedbackStream = root.derived(2)
        var alignment = root.derived(3)
        func xavier(_ rows: Int, _ columns: Int, _ g: inout SeededGenerator) -> Matrix {
            Matrix.gaussian(rows: rows, columns: columns, std: (2.0 / Double(rows + columns)).squareRoot(), using: &g)
        }
        let weights = (1...L).map { xavier(sizes[$0], sizes[$0 - 1], &forward) }
        let biases = (1...L).map { [Double](repeating: 0, count: sizes[$0]) }
        var feedback: [Matrix]
        switch configuration.feedbackInit {
        case .xavierNormal:
            feedback = (1...L).map { xavier(sizes[$0], sizes[L], &feedbackStream) }
        case .weightProduct:
            feedback = weightProductFeedback(weights)
        }
        // Replaced after the draws, so Q_1 … Q_{L−1} are the same either way.
        if configuration.outputFeedback == .identity { feedback[L - 1] = .identity(sizes[L]) }
        let fa = L >= 2 ? (2...L).map { xavier(sizes[$0 - 1], sizes[$0], &alignment) } : []
        return try Network(weights: weights, biases: biases, feedback: feedback,
                           feedbackAlignment: fa, activations: configuration.activations)
    }

    /// Q_i = Π_{k=i+1}^{L} W_kᵀ = W_{i+1}ᵀ ⋯ W_Lᵀ (n_i × n_L), Q_L = I: the feedback of
    /// the "(fixed)" variants, which satisfies Conditions 2–3 approximately at
    /// initialization (DFC paper, Section 6).
    public static func weightProductFeedback(_ weights: [Matrix]) -> [Matrix] {
        let L = weights.count
        var q = [Matrix](repeating: Matrix(rows: 0, columns: 0), count: L)
        q[L - 1] = .identity(weights[L - 1].rows)
        var i = L - 2
        while i >= 0 {
            q[i] = Matrix.product(weights[i + 1], .transposed, q[i + 1], .none)
            i -= 1
        }
        return q
    }
}
