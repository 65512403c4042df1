import Circuit
import DFC
import Emulation
import Foundation
import LinearAlgebra
import Spice
import Testing

@Suite("Feedback phase in SPICE", .serialized)
struct FeedbackPhaseTests {
    func setup(sigma: Double, decay: Double = 0) throws -> (Configuration, Network, Matrix) {
        var c = Configuration()
        c.sizes = [3, 3, 2]
        c.activations = [.linear, .linear]
        c.feedback.sigma = sigma
        c.feedback.decay = decay
        let net = try Network.initialized(c, seed: 3)
        var g = SeededGenerator(seed: 4)
        return (c, net, Matrix.gaussian(rows: 64, columns: 3, std: 1, using: &g))
    }

    @Test("without noise the circuit's controller stays at rest and only the decay −B·β·Q remains")
    func decayOnly() throws {
        let (c, net, x) = try setup(sigma: 0, decay: 0.2)
        let spice = try SpiceBackend(network: net, configuration: c, circuit: CircuitParameters(), engine: EmbeddedNgspice.shared)
        let dQ = try spice.feedbackUpdate(inputs: x.rows(0..<4), variant: .dfc, noiseSeed: 1)
        for i in 0..<2 { #expect((dQ[i] + net.feedback[i] * (4 * 0.2)).maxAbs < 1e-9) }
    }

    @Test("with noise the circuit's feedback update estimates the ideal model's expectation as well as the ideal model does")
    func noiseDrivenUpdate() throws {
        let (c, net, x) = try setup(sigma: 0.3)
        let spice = try SpiceBackend(network: net, configuration: c, circuit: CircuitParameters(), engine: EmbeddedNgspice.shared)
        let ideal = try IdealBackend(network: net, configuration: c)
        // E[−v^A uᵀ] from 16 × 64 ideal samples.
        var expected = [Double](repeating: 0, count: net.feedback.reduce(0) { $0 + $1.count })
        for k in 0..<16 {
            let dQ = try ideal.feedbackUpdate(inputs: x, variant: .dfc, noiseSeed: UInt64(100 + k)).flatMap(\.storage)
            for j in 0..<expected.count { expected[j] += dQ[j] }
        }
        let n = 64
        let measured = try spice.feedbackUpdate(inputs: x.rows(0..<n), variant: .dfc, noiseSeed: 7)
        let spiceAngle = angleDegrees(expected, measured.flatMap(\.storage))
        // How far n-sample ideal estimates stray from the expectation, for comparison.
        let idealAngles = try (0..<4).map { k in
            angleDegrees(expected, try ideal.feedbackUpdate(inputs: x.rows(0..<n), variant: .dfc, noiseSeed: UInt64(500 + k)).flatMap(\.storage))
        }
        print("feedback update, \(n) samples: SPICE \(spiceAngle)° from the expectation; ideal estimates \(idealAngles)")
        #expect(spiceAngle < 90, "the circuit's update does not point along the expectation: \(spiceAngle)°")
        #expect(spiceAngle <= 1.5 * (idealAngles.max() ?? 0) + 5, "SPICE \(spiceAngle)° against ideal \(idealAngles)")
        // Seeded noise: the same seed gives the same circuit update.
        let again = try spice.feedbackUpdate(inputs: x.rows(0..<n), variant: .dfc, noiseSeed: 7)
        #expect(again.flatMap(\.storage) == measured.flatMap(\.storage))
    }
}
