import Dispatch
import LinearAlgebra

extension Dynamics {
    /// Samples per independently simulated chunk. Rows of a batch never interact,
    /// so chunks run on separate cores with single-threaded BLAS, which beats one
    /// multi-threaded BLAS call per small product. The chunk size is fixed (not the
    /// core count) so that noise streams, and so results, do not depend on the machine.
    public static let chunkSize = 64

    /// Runs the dynamics for the batch `input` (batch × n_0) towards `target`
    /// (batch × n_L), starting from `feedforward` (the state of `network.forward(input)`).
    /// Chunk c of the batch draws its noise from `generator.derived(c)`; `generator`
    /// itself advances by one draw per call.
    public func run(input: Matrix, target: Matrix, feedforward: FeedforwardState,
                    generator: inout SeededGenerator) -> DynamicsResult {
        let B = input.rows
        let chunks = (B + Self.chunkSize - 1) / Self.chunkSize
        let base = generator
        _ = generator.next()
        let packed = PackedOperands(network)
        if chunks <= 1 {
            var g = base.derived(0)
            return runChunk(input: input, target: target, feedforward: feedforward, packed: packed, generator: &g)
        }
        let ranges = (0..<chunks).map { c in (c * Self.chunkSize)..<min(B, (c + 1) * Self.chunkSize) }
        let results = ChunkResults(count: chunks)
        Parallel.forEach(chunks) { c in
            let r = ranges[c]
            let ff = FeedforwardState(rates: feedforward.rates.map { $0.rows(r) },
                                      potentials: feedforward.potentials.map { $0.rows(r) })
            var g = base.derived(UInt64(c))
            results.store(c, runChunk(input: input.rows(r), target: target.rows(r), feedforward: ff, packed: packed, generator: &g))
        }
        return DynamicsResult.merging(results.values)
    }
}

/// Per-chunk results written from concurrent workers, each to its own slot; a serial
/// queue orders the writes.
final class ChunkResults: @unchecked Sendable {
    private var slots: [DynamicsResult?]
    private let queue = DispatchQueue(label: "dfcspice.chunk-results")

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ index: Int, _ result: DynamicsResult) {
        queue.sync { slots[index] = result }
    }

    var values: [DynamicsResult] { queue.sync { slots.compactMap { $0 } } }
}

extension DynamicsResult {
    /// Joins chunk results in order: states stacked by rows, updates summed.
    static func merging(_ parts: [DynamicsResult]) -> DynamicsResult {
        var out = parts[0]
        guard parts.count > 1 else { return out }
        func stack(_ pick: (DynamicsResult) -> Matrix) -> Matrix { Matrix.vstack(parts.map(pick)) }
        let layers = out.soma.count
        out.soma = (0..<layers).map { i in stack { $0.soma[i] } }
        out.basal = (0..<layers).map { i in stack { $0.basal[i] } }
        out.apical = (0..<layers).map { i in stack { $0.apical[i] } }
        out.u = stack(\.u)
        out.error = stack(\.error)
        for p in parts.dropFirst() {
            for i in 0..<out.dW.count {
                out.dW[i] += p.dW[i]
                for j in 0..<out.db[i].count { out.db[i][j] += p.db[i][j] }
            }
            for i in 0..<out.dQ.count { out.dQ[i] += p.dQ[i] }
            out.diverged += p.diverged
        }
        if let first = out.traces {
            var t = first
            for k in 0..<t.time.count {
                for i in 0..<layers {
                    t.soma[i][k] = Matrix.vstack(parts.map { $0.traces!.soma[i][k] })
                    t.basal[i][k] = Matrix.vstack(parts.map { $0.traces!.basal[i][k] })
                    t.apical[i][k] = Matrix.vstack(parts.map { $0.traces!.apical[i][k] })
                }
                t.u[k] = Matrix.vstack(parts.map { $0.traces!.u[k] })
                t.error[k] = Matrix.vstack(parts.map { $0.traces!.error[k] })
            }
            out.traces = t
        }
        return out
    }
}
