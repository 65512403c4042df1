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
            let dQ = solver.feedbackPhase(input: x, feedforward: net.forward(x), generator: &g)
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
        let dQ = try Solver(network: net, configuration: c).feedbackPhase(input: x, feedforward: net.forward(x), generator: &g)
        for i in 0..<net.depth { #expect((dQ[i] + net.feedback[i] * 1.5).maxAbs < 1e-15) }
    }
}
