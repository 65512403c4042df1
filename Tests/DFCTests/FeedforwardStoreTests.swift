@testable import DFC
import LinearAlgebra
import Testing

@Suite("Feedforward store")
struct FeedforwardStoreTests {
    /// Bit-for-bit equality of two feedforward states.
    func identical(_ a: FeedforwardState, _ b: FeedforwardState) -> Bool {
        a.rates == b.rates && a.potentials == b.potentials
    }

    @Test("a gathered batch has the bits of the forward pass of the gathered inputs",
          arguments: [[784, 256, 256, 256, 10], [7, 5, 3]])
    func gatherIsExact(sizes: [Int]) throws {
        let c = testConfiguration(sizes)
        let net = try randomNetwork(c, seed: 3)
        // More rows than one fill slab, so batches mix rows filled by different forward calls.
        let inputs = randomBatch(FeedforwardStore.slab + 300, sizes[0], seed: 4)
        let store = FeedforwardStore(network: net, inputs: inputs)
        var g = SeededGenerator(seed: 5)
        // Batch sizes as training makes them (128, and 55 000 mod 128 = 88) and sizes that
        // are not multiples of any kernel's unroll: rows are computed alone, so all agree.
        for batch in [128, 64, 88, 8, 256, 1, 7, 13, 127, 1025] {
            let indices = (0..<batch).map { _ in Int(g.next() % UInt64(inputs.rows)) }
            let x = inputs.rows(at: indices)
            #expect(identical(store.state(rows: indices, inputs: x), net.forward(x)), "\(sizes), batch \(batch)")
        }
    }

    @Test("the store matches its own W, b and φ, and any Q, but not changed forward parameters")
    func matchesForwardParametersOnly() throws {
        let c = testConfiguration([6, 4, 2])
        let net = try randomNetwork(c, seed: 8)
        let store = FeedforwardStore(network: net, inputs: randomBatch(10, 6, seed: 9))
        var otherQ = net
        otherQ.feedback[0][0, 0] += 1
        #expect(store.matches(net) && store.matches(otherQ))
        var otherW = net
        otherW.weights[1][1, 2] = otherW.weights[1][1, 2].nextUp
        var otherB = net
        otherB.biases[0][3] += 1e-9
        var otherPhi = net
        otherPhi.activations[0] = .sigmoid
        #expect(!store.matches(otherW) && !store.matches(otherB) && !store.matches(otherPhi))
    }

    @Test("the store's size is Σ n_i doubles per sample, and it declines above a quarter of memory")
    func memoryBound() throws {
        let net = try randomNetwork(testConfiguration([784, 256, 256, 256, 10]), seed: 1)
        #expect(FeedforwardStore.bytes(rows: 55_000, network: net) == 55_000 * 778 * 8)
        #expect(FeedforwardStore.fits(rows: 55_000, network: net, memory: 4 * 342_320_000))
        #expect(!FeedforwardStore.fits(rows: 55_000, network: net, memory: 4 * 342_320_000 - 4))
    }
}
