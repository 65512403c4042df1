import DFC
@testable import Emulation
import Foundation
import Testing

@Suite("Stopping inside a feedback pass", .serialized)
struct FeedbackPassResumeTests {
    /// Trains `feedbackTask` for 2 epochs with 2 pre-training passes and 2 extra passes, stopping
    /// after `stopAfter` feedback batches if given; returns the trainer.
    func train(dir: URL, resume: Bool, stopAfter: Int? = nil) throws -> HILTrainer<IdealBackend> {
        var (c, t) = feedbackTask()
        t.epochs = 2
        t.feedbackPretrainEpochs = 2
        t.feedbackPretrainRate = 0.01
        t.extraFeedbackEpochs = 2
        let backend = try IdealBackend(network: try Network.initialized(c, seed: c.seed), configuration: c)
        let trainer = try HILTrainer(backend: backend, configuration: c, training: t, variant: .dfc, directory: dir, resume: resume)
        var batches = 0
        trainer.feedbackProgress = { _, _, _ in batches += 1 }
        trainer.shouldStop = { stopAfter.map { batches >= $0 } ?? false }
        _ = try trainer.run()
        return trainer
    }

    @Test("a stop inside a feedback pass checkpoints its position, and the resumed run ends where an unbroken one ends",
          arguments: [2, 13])   // 5 batches per pass: inside pre-training pass 1, inside epoch 1's first extra pass
    func stopInsideAPass(after batches: Int) throws {
        let straightDir = try scratch(), brokenDir = try scratch()
        defer { try? FileManager.default.removeItem(at: straightDir); try? FileManager.default.removeItem(at: brokenDir) }
        let straight = try train(dir: straightDir, resume: false).state
        let stopped = try train(dir: brokenDir, resume: false, stopAfter: batches).state
        #expect(stopped.feedbackPassPosition == 8 * (batches % 5), "the checkpoint records the pass's position")
        let saved = try TrainingCheckpoint.read(from: brokenDir)
        #expect(saved.feedbackPassPosition == stopped.feedbackPassPosition && saved.feedback == stopped.feedback)
        let resumed = try train(dir: brokenDir, resume: true).state
        #expect(resumed.feedbackPassPosition == nil)
        #expect(resumed.feedback == straight.feedback && resumed.forward == straight.forward)
        #expect(resumed.metrics.map(\.testLoss) == straight.metrics.map(\.testLoss))
    }
}
