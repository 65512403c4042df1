import DFC
import Testing

@Suite("FlopCount: the matrix products of an epoch's pieces")
struct FlopCountTests {
    static let fashionMNIST = [784, 256, 256, 256, 10]

    // Worked out by hand for 784-256-256-256-10 (n_L = 10):
    //   basal products of layers 2…4: 256·256 + 256·256 + 10·256 = 133 632 multiply-adds
    //   Q_i u of every layer: (256 + 256 + 256 + 10)·10 = 7 780
    //   the whole network once: 784·256 + 133 632 = 334 336
    @Test("known answers for the Fashion-MNIST network")
    func knownAnswers() {
        let s = Self.fashionMNIST
        // dfc, the published 299 steps: basal of layers 2…4 at 299 steps, plasticity of
        // layers 2…4 and Q u of all at 300 states: 2·(299·133 632 + 300·(133 632 + 7 780)).
        #expect(FlopCount.controlledRun(sizes: s, steps: 299) == 164_759_136)
        // Feedback, 33 steps: basal at 33 steps, Q u and u v^Aᵀ at 34 states: 2·(33·133 632 + 34·2·7 780).
        #expect(FlopCount.feedbackRun(sizes: s, steps: 33) == 9_877_792)
        // dfc-ssa: J·Q (10 columns through layers 2…4), basal and ΔW of all, Q u_ss:
        // 2·(10·133 632 + 2·334 336 + 7 780).
        #expect(FlopCount.steadyStateUpdate(sizes: s) == 4_025_544)
        // bp: forward and ΔW of all, δ back through layers 2…4: 2·(2·334 336 + 133 632).
        #expect(FlopCount.backpropagation(sizes: s) == 1_604_608)
    }

    @Test("a single layer has no basal products; too few sizes count nothing")
    func edges() {
        // 3 → 2: nothing is propagated between layers; Q_1 u and u v^Aᵀ only (2·2·2 each),
        // at steps + 1 states.
        #expect(FlopCount.feedbackRun(sizes: [3, 2], steps: 4) == 5 * 2 * 2 * 2 * 2)
        #expect(FlopCount.controlledRun(sizes: [3, 2], steps: 4) == 5 * 2 * 2 * 2)
        #expect(FlopCount.backpropagation(sizes: [3, 2]) == 4 * 2 * 3)
        #expect(FlopCount.feedbackRun(sizes: [5], steps: 10) == 0)
        #expect(FlopCount.backpropagation(sizes: []) == 0)
    }
}
