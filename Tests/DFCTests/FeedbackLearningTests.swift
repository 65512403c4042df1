@testable import DFC
import LinearAlgebra
import Testing

@Suite("Feedback learning (Eq. 12–13)")
struct FeedbackLearningTests {
    /// Condition 2 of a linear network (J is the same for every sample).
    func condition2(_ net: Network) throws -> Double {
        let ff = net.forward(Matrix(rows: 1, columns: net.sizes[0]))
        let j = net.jacobian(at: ff.potentials, sample: 0)
        let q = net.stackedFeedback
        return (try j.pseudoInverse() * (j * q)).frobeniusNorm / q.frobeniusNorm
    }

    @Test("the noise-driven phase turns random Q towards the row space of J (Condition 2) and keeps J Q stable")
    func alignsWithJacobian() throws {
        var c = testConfiguration([5, 4, 4, 2], hidden: .linear)
        c.feedback.sigma = 0.1
        c.feedback.steps = 200
        c.feedback.decay = 0.05
        var net = try randomNetwork(c, seed: 401)
        let before = try condition2(net)
        var g = SeededGenerator(seed: 2)
        let rate = 2.0
        for step in 0..<150 {
            let x = randomBatch(32, 5, seed: 1000 + UInt64(step))
            let solver = try Solver(network: net, configuration: c)
            let dQ = solver.feedbackPhase(input: x, feedforward: net.forward(x), variant: .dfc, generator: &g)
            for i in 0..<net.depth { net.feedback[i] += dQ[i] * (rate / 32) }
        }
        let after = try condition2(net)
        let ff = net.forward(Matrix(rows: 1, columns: 5))
        let jq = net.jacobian(at: ff.potentials, sample: 0) * net.stackedFeedback
        // From a random Q (largely outside J's row space) to one almost inside it.
        #expect(after > 0.9 && after - before > 0.5, "condition 2: \(before) → \(after)")
        // Condition 3 with α = 0: every eigenvalue of J Q in the right half-plane.
        #expect(try jq.eigenvalues().allSatisfy { $0.re > 0 })
    }

    @Test("without noise the controller stays at rest and only the decay −B·β·Q remains")
    func decayOnly() throws {
        var c = testConfiguration([3, 4, 2])
        c.feedback.sigma = 0
        c.feedback.decay = 0.3
        let net = try randomNetwork(c, seed: 411)
        let x = randomBatch(5, 3, seed: 412)
        var g = SeededGenerator(seed: 1)
        let dQ = try Solver(network: net, configuration: c).feedbackPhase(input: x, feedforward: net.forward(x), variant: .dfc, generator: &g)
        for i in 0..<net.depth { #expect((dQ[i] + net.feedback[i] * 1.5).maxAbs < 1e-15) }
    }
}

@Suite("Batched J·Q, evaluation and the code's feedback scaling")
struct BatchedKernelsTests {
    @Test("J·Q by the batched forward recursion equals Σ_i J_i Q_i from per-sample Jacobians")
    func jacobianTimesFeedback() throws {
        let c = testConfiguration([6, 5, 4, 3])
        let net = try randomNetwork(c, seed: 71)
        let x = randomBatch(9, 6, seed: 72)
        let ff = net.forward(x)
        let batched = net.jacobianTimesFeedback(at: ff.potentials)
        for s in 0..<9 {
            let js = net.layerJacobians(at: ff.potentials, sample: s)
            let reference = (0..<net.depth).map { js[$0] * net.feedback[$0] }.reduce(Matrix(rows: 3, columns: 3), +)
            #expect((batched[s] - reference).maxAbs <= 1e-13 * max(1, reference.maxAbs))
        }
        // With the feedforward rates, φ′ is not evaluated again and nothing moves.
        #expect(net.jacobianTimesFeedback(at: ff.potentials, rates: Array(ff.rates.dropFirst())) == batched)
    }

    @Test("evaluate sums the per-sample loss and counts arg-max hits over blocks")
    func evaluateMatchesForward() throws {
        let c = testConfiguration([5, 7, 4], loss: .crossEntropy)
        let net = try randomNetwork(c, seed: 73)
        let n = Network.evaluationBlock * 2 + 17
        let x = randomBatch(n, 5, seed: 74)
        var g = SeededGenerator(seed: 75)
        let y = Matrix(rows: n, columns: 4) { _, _ in 0 }.rowsMap { _ in Int(g.next() % 4) }
        let out = net.forward(x).output
        let loss = Loss.crossEntropy.perSample(out, y).reduce(0, +)
        var correct = 0
        for s in 0..<n where y[s, (0..<4).max { out[s, $0] < out[s, $1] }!] == 1 { correct += 1 }
        let e = net.evaluate(inputs: x, labels: y, loss: .crossEntropy)
        #expect(e.samples == n && e.correct == correct)
        #expect(abs(e.lossSum - loss) <= 1e-9 * abs(loss))
    }

    @Test("feedbackScaling noiseVariance divides the correlation term by σ_fb² and leaves the decay")
    func noiseVarianceScaling() throws {
        var c = testConfiguration([4, 3, 2], hidden: .linear)
        c.feedback.sigma = 0.2
        c.feedback.decay = 0.3
        let net = try randomNetwork(c, seed: 76)
        let x = randomBatch(5, 4, seed: 77)
        var paper = c, code = c
        paper.conventions.feedbackScaling = .none
        code.conventions.feedbackScaling = .noiseVariance
        var g1 = SeededGenerator(seed: 78), g2 = g1
        let a = try Solver(network: net, configuration: paper).feedbackPhase(input: x, feedforward: net.forward(x), variant: .dfc, generator: &g1)
        let b = try Solver(network: net, configuration: code).feedbackPhase(input: x, feedforward: net.forward(x), variant: .dfc, generator: &g2)
        let decay = 0.3 * 5
        for i in 0..<net.depth {
            let correlationA = a[i] + net.feedback[i] * decay, correlationB = b[i] + net.feedback[i] * decay
            #expect((correlationB - correlationA * 25).maxAbs <= 1e-12 * max(1, correlationB.maxAbs))
        }
        code.feedback.sigma = 0.001
        #expect(code.feedbackCorrelationScale == 1e4)   // σ_fb floored at 0.01, as the published code
    }
}

private extension Matrix {
    /// One-hot rows: row s has a 1 in column `hot(s)`.
    func rowsMap(_ hot: (Int) -> Int) -> Matrix {
        var m = self
        for s in 0..<rows { m[s, hot(s)] = 1 }
        return m
    }
}
