import Circuit
import DFC
import Foundation
import Spice
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

    @Test("drift reaches the behavioral backend and the SPICE netlist alike: the same realised weights; one ν shrinks them by (t/t_c)^(−ν)")
    func driftInBothLevels() throws {
        let (c, _) = feedbackTask()
        var p = CircuitParameters()
        p.device.levels = 64
        p.device.programmingNoise = 0.02
        var drifting = p
        drifting.device.driftTime = 86_400
        drifting.device.driftNu = 0.05
        drifting.device.driftNuSpread = 0.01
        let net = try Network.initialized(c, seed: c.seed)
        let behavioral = try BehavioralBackend(network: net, configuration: c, circuit: drifting)
        let spice = try SpiceBackend(network: net, configuration: c, circuit: drifting, engine: EmbeddedNgspice.shared)
        #expect(behavioral.effectiveNetwork.weights == spice.mapped.realised.weights)
        #expect(behavioral.effectiveNetwork.feedback == spice.mapped.realised.feedback)
        // With one ν for all devices the realised weights shrink by exactly (t/t_c)^(−ν):
        // the same programming and noise draws, the drift on top.
        var uniform = drifting
        uniform.device.driftNuSpread = 0
        let shrunk = try BehavioralBackend(network: net, configuration: c, circuit: uniform)
        let fresh = try BehavioralBackend(network: net, configuration: c, circuit: p)
        let expected = Foundation.pow(86_400.0 / 20, -0.05)
        for (a, b) in zip(shrunk.effectiveNetwork.weights, fresh.effectiveNetwork.weights) {
            for k in 0..<a.storage.count { #expect(abs(a.storage[k] - expected * b.storage[k]) <= 1e-12 * (1 + abs(b.storage[k]))) }
        }
        #expect(behavioral.effectiveNetwork.weights != shrunk.effectiveNetwork.weights, "the spread of ν scatters the weights")
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
