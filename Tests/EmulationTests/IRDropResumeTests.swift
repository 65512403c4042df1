import Circuit
import DFC
@testable import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Testing
import Training

@Suite("Training through wires, IR drop followed between exact solves", .serialized)
struct IRDropResumeTests {
    /// `smallTask` (5 batches an epoch) on 6-bit noisy devices behind 200 Ω wire segments,
    /// with exact IR-drop solves every `every` reprogrammings.
    func backend(every: Int) throws -> (BehavioralBackend, Configuration, TrainingParameters) {
        let (c, t) = smallTask()
        var p = CircuitParameters()
        p.device.levels = 64
        p.device.programmingNoise = 0.02
        p.wire = CrossbarWires(rowSegment: 200, columnSegment: 200, driver: 10, rowEnd: 10)
        p.wire.exactMapEvery = every
        return (try BehavioralBackend(network: try Network.initialized(c, seed: c.seed), configuration: c, circuit: p), c, t)
    }

    func train(every: Int, dir: URL, resume: Bool, stopAfter: Int? = nil) throws -> HILTrainer<BehavioralBackend> {
        let (b, c, t) = try backend(every: every)
        return try TrainingLoopTests().train(b, c, t, epochs: t.epochs, dir: dir, resume: resume, stopAfter: stopAfter)
    }

    @Test("a stop between exact solves resumes bit for bit from the anchors in the checkpoint; without them it would not")
    func resumeBetweenSolves() throws {
        let straightDir = try scratch(), brokenDir = try scratch(), strippedDir = try scratch()
        defer { for d in [straightDir, brokenDir, strippedDir] { try? FileManager.default.removeItem(at: d) } }
        let straight = try train(every: 4, dir: straightDir, resume: false)
        // Stopped after 7 batches: cycle 7, three reprogrammings after the solve at cycle 4.
        let stopped = try train(every: 4, dir: brokenDir, resume: false, stopAfter: 7)
        #expect(stopped.state.cycle == 7)
        let saved = try TrainingCheckpoint.read(from: brokenDir)
        let tensors = try #require(saved.device?.tensors)
        #expect(tensors.count == 4 * 2 * 2, "four matrices for each of the four arrays")
        #expect(tensors == stopped.backend.checkpointState)
        // A second copy of the stopped run, whose checkpoint loses its anchors.
        for name in try FileManager.default.contentsOfDirectory(atPath: brokenDir.path) where !name.hasPrefix(".") {
            try FileManager.default.copyItem(at: brokenDir.appendingPathComponent(name), to: strippedDir.appendingPathComponent(name))
        }
        let json = strippedDir.appendingPathComponent("checkpoint.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        object["device"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: json)

        let resumed = try train(every: 4, dir: brokenDir, resume: true)
        #expect(resumed.state.forward == straight.state.forward)
        #expect(resumed.state.metrics.map(\.testLoss) == straight.state.metrics.map(\.testLoss))
        #expect(resumed.backend.effectiveNetwork == straight.backend.effectiveNetwork)
        let blind = try train(every: 4, dir: strippedDir, resume: true)
        #expect(blind.state.forward != straight.state.forward, "resuming from an exact solve at cycle 7 realises other weights")
    }

    @Test("a checkpoint whose anchors are non-finite, incomplete or of another shape is refused, naming the checkpoint")
    func hostileAnchors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try train(every: 4, dir: dir, resume: false, stopAfter: 7)
        let saved = try TrainingCheckpoint.read(from: dir)
        let file = dir.appendingPathComponent(try #require(saved.tensorFile))
        let original = try Data(contentsOf: file)
        func refused(_ edit: (inout NPZ) -> Void, _ words: String) throws {
            var npz = try NPZ(contentsOf: file)
            edit(&npz)
            try npz.write(to: file)
            defer { try? original.write(to: file) }
            do {
                _ = try train(every: 4, dir: dir, resume: true)
                Issue.record("resumed from a checkpoint with \(words)")
            } catch let error as ModelError {
                #expect(error.message.hasPrefix(dir.appendingPathComponent("checkpoint.json").path) && error.message.contains(words), "\(error)")
            }
        }
        try refused({ npz in
            var a = npz["device.irDrop.0.aPlus"]!
            a = NDArray(shape: a.shape, data: a.data.map { _ in .nan })
            npz["device.irDrop.0.aPlus"] = a
        }, "non-finite")
        try refused({ npz in
            let a = npz["device.irDrop.2.gPlus"]!
            npz["device.irDrop.2.gPlus"] = NDArray(shape: [a.shape[0] + 1, a.shape[1]], data: a.data + [Double](repeating: 1e-6, count: a.shape[1]))
        }, "the network's array is")
    }

    @Test("exact solves every reprogramming keep no anchors in the checkpoint; following them ends near the exact run")
    func followedAgainstExact() throws {
        let exactDir = try scratch(), followedDir = try scratch()
        defer { for d in [exactDir, followedDir] { try? FileManager.default.removeItem(at: d) } }
        let exact = try train(every: 1, dir: exactDir, resume: false)
        let followed = try train(every: 5, dir: followedDir, resume: false)
        let exactCheckpoint = try TrainingCheckpoint.read(from: exactDir)
        #expect(exact.backend.checkpointState.isEmpty && exactCheckpoint.device == nil)
        #expect(!followed.backend.checkpointState.isEmpty)
        let a = exact.state.metrics.map(\.testLoss), b = followed.state.metrics.map(\.testLoss)
        #expect(a != b, "following the map is an approximation")
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 0.02 * x, "test loss \(y) followed against \(x) exact") }
    }
}
