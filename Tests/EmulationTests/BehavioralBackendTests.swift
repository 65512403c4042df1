import Circuit
import DFC
@testable import Emulation
import LinearAlgebra
import Testing

@Suite("Behavioral backend")
struct BehavioralBackendTests {
    func noisyBackend() throws -> (BehavioralBackend, Configuration) {
        let (c, _) = feedbackTask()
        var p = CircuitParameters()
        p.device.levels = 64
        p.device.programmingNoise = 0.02
        let net = try Network.initialized(c, seed: c.seed)
        return (try BehavioralBackend(network: net, configuration: c, circuit: p), c)
    }

    @Test("a reprogramming rewrites only the arrays whose values changed: a Q step leaves W's realisation, a W step Q's")
    func unchangedArraysKeepTheirRealisation() throws {
        let (b, _) = try noisyBackend()
        var q = b.network
        q.feedback[0][0, 0] += 0.01
        let afterQ = try b.reprogrammed(with: q, cycle: 1)
        #expect(afterQ.effectiveNetwork.weights == b.effectiveNetwork.weights && afterQ.effectiveNetwork.biases == b.effectiveNetwork.biases)
        #expect(afterQ.effectiveNetwork.feedback[0] != b.effectiveNetwork.feedback[0])
        var w = b.network
        w.weights[0][0, 0] += 0.01
        let afterW = try b.reprogrammed(with: w, cycle: 2)
        #expect(afterW.effectiveNetwork.feedback == b.effectiveNetwork.feedback)
        #expect(afterW.effectiveNetwork.weights[0] != b.effectiveNetwork.weights[0] && afterW.effectiveNetwork.weights[1] == b.effectiveNetwork.weights[1])
        // The same weights realise the same conductances whatever the cycle: a resumed run
        // rebuilds exactly what the interrupted one held.
        let rebuilt = try BehavioralBackend(network: q, configuration: b.ideal.solver.configuration, circuit: b.mapper.parameters)
        #expect(rebuilt.effectiveNetwork == afterQ.effectiveNetwork)
    }

    @Test("the feedback update from a stored feedforward state equals the one that computes it")
    func feedbackFromStoredFeedforward() throws {
        let (b, c) = try noisyBackend()
        #expect(b.feedbackStartsFromForward)
        var g = SeededGenerator(seed: 8)
        let x = Matrix(rows: 6, columns: c.sizes[0]) { _, _ in g.nextNormal() }
        let direct = try b.feedbackUpdate(inputs: x, variant: .dfc, noiseSeed: 21)
        let stored = try b.feedbackUpdate(inputs: x, feedforward: b.effectiveNetwork.forward(x), variant: .dfc, noiseSeed: 21)
        #expect(direct == stored)
        #expect(direct.allSatisfy { $0.storage.allSatisfy(\.isFinite) } && direct.contains { $0.maxAbs > 0 })
    }
}
