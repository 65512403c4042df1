import LinearAlgebra

/// The feedforward potentials v_i⁻ = W_i φ(v_{i−1}⁻) + b_i of a fixed set of inputs under
/// fixed forward weights, kept so that repeated passes over the set need not redo them.
///
/// Feedback learning changes only Q: the ten pre-training passes, and the three passes
/// around each `dfc-ssa` or `dfc` epoch, start every batch from the same feedforward state.
/// Computing it once per set of forward weights removes 9 of 10 (2 of 3) forward passes.
/// A gathered state has the same bits as `network.forward` of the gathered inputs, by
/// construction: the basal products are row-exact (`Matrix.rowExactProduct`, one FMA chain
/// per element), so a row's potentials never depend on the rows computed beside it. Whether
/// the store fits in memory therefore never changes a result.
///
/// Only potentials are kept (Σ n_i doubles per sample): r_i = φ_i(v_i) is recomputed per
/// batch, which costs little next to the dynamics and halves the memory.
public struct FeedforwardStore: Sendable {
    /// The network the potentials were computed with; only its W, b and φ count.
    let network: Network
    /// v_i⁻ for every row of the inputs, layer by layer (rows × n_i).
    let potentials: [Matrix]

    /// Rows per forward call while filling the store: bounds the temporary rates.
    static let slab = 1024

    /// The potentials of every row of `inputs` under `network`'s W and b.
    public init(network: Network, inputs: Matrix) {
        self.network = network
        var potentials = network.weights.map { Matrix(rows: inputs.rows, columns: $0.rows) }
        var start = 0
        while start < inputs.rows {
            let end = min(inputs.rows, start + Self.slab)
            let part = network.forward(inputs.rows(start..<end)).potentials
            for i in potentials.indices {
                let width = potentials[i].columns
                potentials[i].storage.replaceSubrange((start * width)..<(end * width), with: part[i].storage)
            }
            start = end
        }
        self.potentials = potentials
    }

    /// The bytes a store of `rows` samples under `network` holds: Σ n_i doubles per sample.
    public static func bytes(rows: Int, network: Network) -> Int {
        rows * network.hiddenTotal * MemoryLayout<Double>.size
    }

    /// Whether a store of `rows` samples fits in a quarter of `memory` bytes. Beyond that the
    /// caller should compute each batch's feedforward state as it goes (the same bits): a
    /// wide network on a large data set must not push a run into swap for a few percent.
    public static func fits(rows: Int, network: Network, memory: UInt64) -> Bool {
        UInt64(bytes(rows: rows, network: network)) <= memory / 4
    }

    /// Whether `network` has the forward parameters (W, b, φ) the store was filled with.
    public func matches(_ other: Network) -> Bool {
        other.weights == network.weights && other.biases == network.biases && other.activations == network.activations
    }

    /// The feedforward state of the rows at `indices`, whose inputs are `inputs` (those rows,
    /// already gathered: they become r_0).
    public func state(rows indices: [Int], inputs: Matrix) -> FeedforwardState {
        let v = potentials.map { $0.rows(at: indices) }
        return FeedforwardState(rates: network.rates(of: v, input: inputs), potentials: v)
    }
}
