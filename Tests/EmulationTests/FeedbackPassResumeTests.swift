import DFC
@testable import Emulation
import Foundation
import Testing

@Suite("Stopping inside a feedback pass", .serialized)
struct FeedbackPassResumeTests {
    /// Trains `feedbackTask` for 2 epochs with 2 pre-training passes and 2 extra passes, stopping
    /// after `stopAfter` feedback batches if given; returns the trainer.
    func train(dir: URL, resume: Bool, stopAfter: Int? = nil, separate: Bool? = nil) throws -> HILTrainer<IdealBackend> {
        var (c, t) = feedbackTask()
        t.separateFeedbackOptimizers = separate ?? false
        if separate != nil { t.optimizer = .adam; t.learningRate = 0.002 }   // SGD has no state to separate
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

    @Test("with separate feedback optimizers the state starts afresh after pre-training, once: a stop there resumes exactly")
    func separateOptimizers() throws {
        let straightDir = try scratch(), brokenDir = try scratch(), sharedDir = try scratch()
        defer { for d in [straightDir, brokenDir, sharedDir] { try? FileManager.default.removeItem(at: d) } }
        // 10 batches = both pre-training passes; the stop lands after epoch 1's first forward batch.
        let stopped = try train(dir: brokenDir, resume: false, stopAfter: 10, separate: true).state
        #expect(stopped.pretrainDone == 2 && stopped.epoch == 0 && stopped.position > 0)
        let saved = try TrainingCheckpoint.read(from: brokenDir)
        #expect(saved.feedbackOptimizer.steps == 0 && saved.feedbackOptimizer.firstMoments.allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(saved.feedbackOptimizer.learningRate == feedbackTask().1.feedbackLearningRate)
        let shared = try train(dir: sharedDir, resume: false, stopAfter: 10, separate: false).state
        #expect(shared.feedbackOptimizer.steps == 10, "one state through pre-training and after it")
        let resumed = try train(dir: brokenDir, resume: true, separate: true).state
        let straight = try train(dir: straightDir, resume: false, separate: true).state
        #expect(resumed.feedbackOptimizer.steps == 2 * 2 * 5, "two extra passes per epoch on the fresh state, not reset again")
        #expect(resumed.feedback == straight.feedback && resumed.forward == straight.forward)
        let sharedEnd = try train(dir: sharedDir, resume: true, separate: false).state
        #expect(sharedEnd.feedback != straight.feedback, "the fresh state changes Q's path")
    }
}
