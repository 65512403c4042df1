@testable import DFC
import LinearAlgebra
import Testing

/// DDTP-linear's difference reconstruction update, against finite differences of its loss,
/// a closed form on linear networks, and its minimiser, the pseudo-inverse of the Jacobian.
@Suite("Difference reconstruction loss (ddtp-linear)")
struct DifferenceReconstructionTests {
    /// ℒ_i = (1/σ²)(1/n_i) Σ_s ‖Q_i Δa_s − σξ_s‖², with ξ drawn as the update draws it and Δa
    /// from `forward` of a network whose layer i is replaced by the perturbed rates.
    func loss(_ net: Network, _ x: Matrix, layer i: Int, q: Matrix, sigma: Double, seed: UInt64) -> Double {
        let ff = net.forward(x)
        var g = SeededGenerator(seed: seed).derived(UInt64(i))
        let xi = Matrix.gaussian(rows: x.rows, columns: net.weights[i].rows, std: 1, using: &g)
        var r = ff.rates[i + 1] + xi * sigma
        var a = r
        for k in (i + 1)..<net.depth {
            a = Matrix.product(r, .none, net.weights[k], .transposed)
            a.addRowVector(net.biases[k])
            r = net.activations[k].apply(a)
        }
        let residual = Matrix.product(a - ff.potentials[net.depth - 1], .none, q, .transposed) - xi * sigma
        return residual.storage.reduce(0) { $0 + $1 * $1 } / (sigma * sigma * Double(net.weights[i].rows))
    }

    @Test("the update is −∂ℒ_i/∂Q_i by central differences, every hidden layer, zero for Q_L")
    func matchesFiniteDifferences() throws {
        let c = testConfiguration([6, 5, 4, 3])
        let net = try randomNetwork(c, seed: 21)
        let x = randomBatch(7, 6, seed: 22)
        let sigma = 0.3
        var g = SeededGenerator(seed: 23)
        let update = net.differenceReconstructionUpdate(feedforward: net.forward(x), sigma: sigma, generator: &g)
        #expect(update[net.depth - 1] == Matrix(rows: 3, columns: 3))
        for i in 0..<(net.depth - 1) {
            let h = 1e-6
            var worst = 0.0
            for r in 0..<net.feedback[i].rows {
                for col in 0..<net.feedback[i].columns {
                    var plus = net.feedback[i], minus = net.feedback[i]
                    plus[r, col] += h
                    minus[r, col] -= h
                    let derivative = (loss(net, x, layer: i, q: plus, sigma: sigma, seed: 23)
                                      - loss(net, x, layer: i, q: minus, sigma: sigma, seed: 23)) / (2 * h)
                    worst = max(worst, abs(update[i][r, col] + derivative) / max(1, abs(derivative)))
                }
            }
            #expect(worst < 1e-7, "layer \(i + 1): worst relative difference \(worst)")
        }
    }

    @Test("linear network: the update is −(2/n_i)(Q_i J_i − I) ΞᵀΞ J_iᵀ exactly, J_i = W_L ⋯ W_{i+1}")
    func closedFormOnLinearNetworks() throws {
        let c = testConfiguration([5, 6, 4, 2], hidden: .linear)
        let net = try randomNetwork(c, seed: 31)
        let x = randomBatch(9, 5, seed: 32)
        let sigma = 0.05
        var g = SeededGenerator(seed: 33)
        let update = net.differenceReconstructionUpdate(feedforward: net.forward(x), sigma: sigma, generator: &g)
        for i in 0..<(net.depth - 1) {
            var jacobian = Matrix.identity(net.weights[i].rows)
            for k in (i + 1)..<net.depth { jacobian = Matrix.product(net.weights[k], .none, jacobian, .none) }
            var noise = SeededGenerator(seed: 33).derived(UInt64(i))
            let xi = Matrix.gaussian(rows: x.rows, columns: net.weights[i].rows, std: 1, using: &noise)
            let n = Double(net.weights[i].rows)
            let misfit = Matrix.product(net.feedback[i], .none, jacobian, .none) - .identity(net.weights[i].rows)
            let expected = Matrix.product(Matrix.product(misfit, .none, Matrix.product(xi, .transposed, xi, .none), .none),
                                          .none, jacobian, .transposed) * (-2 / n)
            #expect(relativeError(update[i], expected) < 1e-10, "layer \(i + 1): \(relativeError(update[i], expected))")
        }
    }

    @Test("descending the loss takes Q_i to the pseudo-inverse of the output Jacobian (tanh network, small σ)")
    func learnsThePseudoInverse() throws {
        let c = testConfiguration([6, 8, 5, 3])
        var net = try randomNetwork(c, seed: 41)
        let x = randomBatch(1, 6, seed: 42, scale: 0.5)
        let ff = net.forward(x)
        var g = SeededGenerator(seed: 43)
        // One input, many perturbations: the loss's expectation is σ²‖Q_i J_i − I‖²/n_i near r⁻.
        let batch = Matrix.vstack(Array(repeating: x, count: 256))
        let start = relativeError(net.feedback[0], try pseudoInverse(net, at: ff, layer: 0))
        for step in 0..<400 {
            let rate = step < 200 ? 1.0 : 0.2
            let update = net.differenceReconstructionUpdate(feedforward: net.forward(batch), sigma: 1e-4, generator: &g)
            for i in 0..<(net.depth - 1) { net.feedback[i] += update[i] * (rate / 256) }
        }
        for i in 0..<(net.depth - 1) {
            let target = try pseudoInverse(net, at: ff, layer: i)
            let error = relativeError(net.feedback[i], target)
            #expect(error < 0.03, "layer \(i + 1): ‖Q − J⁺‖/‖J⁺‖ = \(error)")
        }
        #expect(start > 0.5, "the random start must be far from J⁺: \(start)")
    }

    /// J_i⁺ with J_i = ∂a_L/∂r_i at the feedforward state of the single sample `ff`.
    func pseudoInverse(_ net: Network, at ff: FeedforwardState, layer i: Int) throws -> Matrix {
        var jacobian = net.weights[net.depth - 1]
        var k = net.depth - 2
        while k > i {
            let slope = net.activations[k].derivative(ff.potentials[k], rates: ff.rates[k + 1])
            var scaled = jacobian
            for r in 0..<scaled.rows { for col in 0..<scaled.columns { scaled[r, col] *= slope[0, col] } }
            jacobian = Matrix.product(scaled, .none, net.weights[k], .none)
            k -= 1
        }
        return try jacobian.pseudoInverse()
    }

    @Test("ddtp-linear needs σ > 0 and runs its feedback rule through the solver, decay included, whatever variant the configuration names")
    func solverDispatch() throws {
        var c = testConfiguration([4, 3, 2])
        c.variant = .ddtpLinear
        c.feedback.sigma = 0
        #expect(throws: ModelError.self) { try c.validate() }
        c.feedback.sigma = 0.1
        c.feedback.decay = 0.5
        try c.validate()
        let net = try randomNetwork(c, seed: 51)
        let solver = try Solver(network: net, configuration: c)
        let x = randomBatch(4, 4, seed: 52)
        var a = SeededGenerator(seed: 53), b = SeededGenerator(seed: 53)
        let viaSolver = solver.feedbackPhase(input: x, feedforward: net.forward(x), variant: .ddtpLinear, generator: &a)
        let direct = net.differenceReconstructionUpdate(feedforward: net.forward(x), sigma: 0.1, generator: &b)
        for i in 0..<net.depth { #expect(viaSolver[i] == direct[i] - net.feedback[i] * (0.5 * 4)) }
        // The rule is the caller's: a solver configured for dfc, asked for ddtp-linear, runs
        // the reconstruction rule; asked for dfc, the noise-driven phase.
        var dfcConfiguration = c
        dfcConfiguration.variant = .dfc
        let dfcSolver = try Solver(network: net, configuration: dfcConfiguration)
        var a2 = SeededGenerator(seed: 53), a3 = SeededGenerator(seed: 53)
        #expect(dfcSolver.feedbackPhase(input: x, feedforward: net.forward(x), variant: .ddtpLinear, generator: &a2) == viaSolver)
        #expect(solver.feedbackPhase(input: x, feedforward: net.forward(x), variant: .dfc, generator: &a3) != viaSolver)
    }

    @Test("the optimizer's scale per variant: 2/B for DFC, 2λ/B for ddtp-linear (and dfa under publishedTargets), 1 under sum")
    func updateScales() {
        var c = Conventions()
        let B = 128, lambda = 0.001
        for variant in Variant.allCases {
            c.updateScale = .sum
            #expect(c.forwardScale(variant, batch: B, lambda: lambda) == 1)
            #expect(c.feedbackScale(batch: B) == 1)
        }
        c.updateScale = .publishedMean
        #expect(c.forwardScale(.dfcSSA, batch: B, lambda: lambda) == 2.0 / 128)
        #expect(c.forwardScale(.ddtpLinear, batch: B, lambda: lambda) == 2 * lambda / 128)
        #expect(c.forwardScale(.dfa, batch: B, lambda: lambda) == 1)
        #expect(c.forwardScale(.bp, batch: B, lambda: lambda) == 1)
        #expect(c.feedbackScale(batch: B) == 1.0 / 128)
        c.updateScale = .publishedTargets
        #expect(c.forwardScale(.dfa, batch: B, lambda: lambda) == 2 * lambda / 128)
        #expect(c.forwardScale(.ddtpLinear, batch: B, lambda: lambda) == 2 * lambda / 128)
        #expect(c.forwardScale(.fa, batch: B, lambda: lambda) == 1)
        #expect(c.forwardScale(.dfc, batch: B, lambda: lambda) == 2.0 / 128)
        #expect(c.feedbackScale(batch: B) == 1.0 / 128)
    }
}
