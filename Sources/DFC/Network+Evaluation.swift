import LinearAlgebra

/// Loss and accuracy of the feedforward equilibrium over a whole data set.
public struct Evaluation: Sendable, Equatable {
    /// Σ over samples of the per-sample loss (divide by `samples` for the mean).
    public var lossSum: Double
    /// Samples whose largest output is at a label's 1 (classification); 0 for regression.
    public var correct: Int
    public var samples: Int

    public var meanLoss: Double { lossSum / Double(max(1, samples)) }
    public var errorRate: Double { 1 - Double(correct) / Double(max(1, samples)) }
}

extension Network {
    /// Rows per evaluation block: small enough that a block's activations stay in cache
    /// and no full-data-set matrix is ever allocated (a 55 000 × 256 layer is 113 MB of
    /// fresh pages for the kernel to zero), large enough for efficient products.
    public static let evaluationBlock = 512

    /// Runs the feedforward pass over `inputs` block by block, blocks in parallel, and
    /// sums `loss` and the arg-max hits against one-hot `labels`. The result does not
    /// depend on the core count: block sums are added in block order.
    public func evaluate(inputs: Matrix, labels: Matrix, loss: Loss) -> Evaluation {
        Evaluation.of(inputs: inputs, labels: labels, loss: loss) { forward($0).output }
    }
}

extension Evaluation {
    /// Loss and hits of `outputs` (a feedforward pass: batch × n_0 → batch × n_L, row by row)
    /// over `inputs`, in blocks of `Network.evaluationBlock` rows, blocks in parallel, their sums
    /// added in block order (so the result does not depend on the core count).
    public static func of(inputs: Matrix, labels: Matrix, loss: Loss, outputs: @Sendable (Matrix) -> Matrix) -> Evaluation {
        let n = inputs.rows
        let blocks = (n + Network.evaluationBlock - 1) / Network.evaluationBlock
        var parts = [Evaluation](repeating: Evaluation(lossSum: 0, correct: 0, samples: 0), count: blocks)
        parts.withUnsafeMutableBufferPointer { out in
            guard let slots = out.baseAddress else { return }
            Parallel.forEach(blocks) { b in
                let range = (b * Network.evaluationBlock)..<min(n, (b + 1) * Network.evaluationBlock)
                let y = labels.rows(range)
                let output = outputs(inputs.rows(range))
                var correct = 0
                for s in 0..<output.rows {
                    var best = 0
                    for j in 1..<max(1, output.columns) where output[s, j] > output[s, best] { best = j }
                    if y[s, best] == 1 { correct += 1 }
                }
                slots[b] = Evaluation(lossSum: loss.perSample(output, y).reduce(0, +), correct: correct, samples: range.count)
            }
        }
        return parts.reduce(Evaluation(lossSum: 0, correct: 0, samples: 0)) {
            Evaluation(lossSum: $0.lossSum + $1.lossSum, correct: $0.correct + $1.correct, samples: $0.samples + $1.samples)
        }
    }
}
