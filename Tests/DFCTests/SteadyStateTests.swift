@testable import DFC
import LinearAlgebra
import Testing

/// Lemma 1 and the theory around it, checked on small random networks.
@Suite("Lemma 1 and steady states")
struct SteadyStateTests {
    func settled(_ c: inout Configuration) {
        c.control.kp = 1.5
        c.control.tauV = 0.2
        c.control.tauU = 1
        c.control.dt = 0.005
        c.control.steps = 12000
    }

    @Test("linear network: the simulated steady state of dfc-ss equals Lemma 1 for both leak conventions",
          arguments: Conventions.Leak.allCases)
    func lemma1Linear(leak: Conventions.Leak) throws {
        var c = testConfiguration([6, 5, 4, 3], hidden: .linear)
        c.feedbackInit = .weightProduct
        c.control.alpha = 0.3
        c.control.lambda = 0.2
        c.conventions.leak = leak
        settled(&c)
        let net = try randomNetwork(c, seed: 101)
        let solver = try Solver(network: net, configuration: c)
        let x = randomBatch(8, 6, seed: 102), y = randomBatch(8, 3, seed: 103)
        var g = SeededGenerator(seed: 1)
        let simulated = try solver.solve(input: x, labels: y, variant: .dfcSS, generator: &g)
        let analytic = try solver.solve(input: x, labels: y, variant: .dfcSSA, generator: &g)
        #expect(simulated.count(.converged) == 8)
        #expect(relativeError(simulated.u, analytic.u) < 1e-9)
        for i in 0..<net.depth { #expect(relativeError(simulated.soma[i], analytic.soma[i]) < 1e-9) }
        // The two leaks must give visibly different u (α̃ = 0.3/1.45 versus 0.3).
        var other = c
        other.conventions.leak = leak == .integral ? .total : .integral
        let otherSSA = try Solver(network: net, configuration: other).solve(input: x, labels: y, variant: .dfcSSA, generator: &g)
        #expect(relativeError(otherSSA.u, analytic.u) > 1e-2)
    }

    @Test("tanh network: the gap between simulation and Lemma 1 shrinks with λ (linearization error)")
    func lemma1Tanh() throws {
        var errors: [Double] = []
        for lambda in [0.2, 0.02, 0.002] {
            var c = testConfiguration([6, 5, 4, 3])
            c.feedbackInit = .weightProduct
            c.control.alpha = 0.05
            c.control.lambda = lambda
            settled(&c)
            let net = try randomNetwork(c, seed: 111)
            let solver = try Solver(network: net, configuration: c)
            let x = randomBatch(8, 6, seed: 112), y = randomBatch(8, 3, seed: 113)
            var g = SeededGenerator(seed: 1)
            let simulated = try solver.solve(input: x, labels: y, variant: .dfcSS, generator: &g)
            let analytic = try solver.solve(input: x, labels: y, variant: .dfcSSA, generator: &g)
            #expect(simulated.count(.converged) == 8)
            errors.append(relativeError(simulated.u, analytic.u))
        }
        // Lemma 1 is exact to O(λ²), so the relative error in u is O(λ).
        #expect(errors[1] < errors[0] / 5, "errors \(errors)")
        #expect(errors[2] < errors[1] / 5, "errors \(errors)")
        // …and the error per unit λ settles (first order), rather than growing.
        #expect(errors[2] / 0.002 <= 1.2 * errors[1] / 0.02, "errors \(errors)")
    }

    @Test("ssaPropagation: linear gives v = v⁻ + Q u exactly; nonlinear propagates through φ")
    func ssaPropagation() throws {
        var c = testConfiguration([5, 4, 4, 3])
        c.feedbackInit = .weightProduct
        c.control.lambda = 0.3
        c.conventions.ssaPropagation = .linear
        let net = try randomNetwork(c, seed: 121)
        let x = randomBatch(4, 5, seed: 122), y = randomBatch(4, 3, seed: 123)
        var g = SeededGenerator(seed: 1)
        let linear = try Solver(network: net, configuration: c).solve(input: x, labels: y, variant: .dfcSSA, generator: &g)
        for i in 0..<net.depth {
            let expected = linear.feedforward.potentials[i] + linear.u * net.feedback[i].transposed
            #expect((linear.soma[i] - expected).maxAbs < 1e-14)
        }
        c.conventions.ssaPropagation = .nonlinear
        let nonlinear = try Solver(network: net, configuration: c).solve(input: x, labels: y, variant: .dfcSSA, generator: &g)
        #expect((nonlinear.u - linear.u).maxAbs < 1e-14)
        let r1 = Activation.tanh.apply(nonlinear.soma[0])
        var v2 = r1 * net.weights[1].transposed
        v2.addRowVector(net.biases[1])
        v2 += nonlinear.u * net.feedback[1].transposed
        #expect((nonlinear.soma[1] - v2).maxAbs < 1e-14)
        #expect((nonlinear.soma[1] - linear.soma[1]).maxAbs > 1e-6)
    }

    @Test("the SSA update from the stored basal inputs and rates equals the one from a fresh forward pass, bit for bit",
          arguments: Conventions.SSAPropagation.allCases)
    func updateReusesState(propagation: Conventions.SSAPropagation) throws {
        var c = testConfiguration([5, 4, 4, 3])
        c.feedbackInit = .weightProduct
        c.control.lambda = 0.3
        c.conventions.ssaPropagation = propagation
        let net = try randomNetwork(c, seed: 141)
        let x = randomBatch(6, 5, seed: 142), y = randomBatch(6, 3, seed: 143)
        let solver = try Solver(network: net, configuration: c)
        let ff = net.forward(x)
        let delta = solver.target(feedforward: ff, labels: y).delta
        let ssa = try SteadyStateApproximation(network: net, feedforward: ff, delta: delta,
                                               effectiveLeak: c.controller.effectiveLeak, propagation: propagation)
        let reused = ssa.update(network: net, input: x)
        let fresh = net.steadyStateUpdate(input: x, soma: ssa.soma)
        for i in 0..<net.depth {
            #expect(reused.dW[i].storage == fresh.dW[i].storage)
            #expect(reused.db[i] == fresh.db[i])
            #expect(reused.dW[i].maxAbs > 0)
        }
    }

    @Test("loss reduction: the code's batch mean divides δ_L by batch·n_L (MSE) or batch (cross-entropy)")
    func lossReduction() throws {
        for loss in Loss.allCases {
            var c = testConfiguration([3, 4, 2], loss: loss)
            let net = try randomNetwork(c, seed: 131)
            let x = randomBatch(6, 3, seed: 132)
            let y = Matrix(rows: 6, columns: 2) { i, j in j == i % 2 ? 1 : 0 }
            let ff = net.forward(x)
            c.conventions.lossReduction = .sum
            let sum = try Solver(network: net, configuration: c).target(feedforward: ff, labels: y).delta
            c.conventions.lossReduction = .mean
            let mean = try Solver(network: net, configuration: c).target(feedforward: ff, labels: y).delta
            let factor = loss == .mse ? 12.0 : 6.0
            #expect(((sum / factor) - mean).maxAbs < 1e-15)
            if loss == .mse {
                // Eq. 3 for the L² loss: r* = (1 − 2λ) r⁻ + 2λ y.
                let lambda = c.control.lambda
                let target = ff.output * (1 - 2 * lambda) + y * (2 * lambda)
                #expect(((ff.output + sum) - target).maxAbs < 1e-14)
            }
        }
    }
}
