import DFC
import Testing

@Suite("ElementCount: the element-wise kernels of an epoch's pieces")
struct ElementCountTests {
    static let fashionMNIST = [784, 256, 256, 256, 10]
    static let tanhHidden: [Activation] = [.tanh, .tanh, .tanh, .linear]

    // Worked out by hand for 784-256-256-256-10 with tanh hidden layers and a linear output
    // (768 tanh units, 778 units in all).
    @Test("known answers for the Fashion-MNIST network")
    func knownAnswers() {
        let s = Self.fashionMNIST, phi = Self.tanhHidden
        // dfc, 299 steps: φ(v) of 768 units after 299 steps, φ(v^B) of layers 2–3 (512) at
        // 300 states, layer 1's φ(v^B) (256) once: 299·768 + 300·512 + 256.
        #expect(ElementCount.controlledRunActivations(sizes: s, activations: phi, steps: 299) == 383_488)
        // Feedback, 33 steps: φ(v) of 768 units after 32 of them; 33 draws for each of 778 units.
        #expect(ElementCount.feedbackRunActivations(sizes: s, activations: phi, steps: 33) == 24_576)
        #expect(ElementCount.feedbackRunDraws(sizes: s, steps: 33) == 25_674)
    }

    @Test("linear layers cost nothing; missing activations count as linear; no steps, no work")
    func edges() {
        #expect(ElementCount.controlledRunActivations(sizes: [3, 2], activations: [.linear], steps: 5) == 0)
        // One tanh layer: φ(v) after 5 steps and its constant basal input's φ once.
        #expect(ElementCount.controlledRunActivations(sizes: [3, 2], activations: [.tanh], steps: 5) == 12)
        #expect(ElementCount.feedbackRunActivations(sizes: [3, 4, 2], activations: [.relu], steps: 5) == 16)
        #expect(ElementCount.feedbackRunActivations(sizes: [3, 4, 2], activations: [.tanh, .tanh], steps: 0) == 0)
        #expect(ElementCount.feedbackRunDraws(sizes: [5], steps: 10) == 0)
        #expect(ElementCount.feedbackRunDraws(sizes: [3, 4, 2], steps: 2) == 12)
    }
}
