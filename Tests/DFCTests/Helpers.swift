@testable import DFC
import LinearAlgebra

/// A small configuration for tests: sizes, activation for hidden layers, linear output.
func testConfiguration(_ sizes: [Int], hidden: Activation = .tanh, output: Activation = .linear,
                       loss: Loss = .mse) -> Configuration {
    var c = Configuration()
    c.sizes = sizes
    c.activations = Array(repeating: hidden, count: sizes.count - 2) + [output]
    c.loss = loss
    c.control.traceStride = 0
    return c
}

func randomNetwork(_ c: Configuration, seed: UInt64) throws -> Network {
    try Network.initialized(c, seed: seed)
}

func randomBatch(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1) -> Matrix {
    var g = SeededGenerator(seed: seed)
    return Matrix.gaussian(rows: rows, columns: columns, std: scale, using: &g)
}

func relativeError(_ a: Matrix, _ b: Matrix) -> Double {
    (a - b).frobeniusNorm / max(b.frobeniusNorm, 1e-300)
}

func isApproximatelyEqual(_ a: Double, _ b: Double, relativeTolerance: Double, absoluteTolerance: Double = 0) -> Bool {
    abs(a - b) <= max(absoluteTolerance, relativeTolerance * max(abs(a), abs(b)))
}

extension Network {
    /// Scalar loss of the feedforward output, for finite differences.
    func loss(_ x: Matrix, _ y: Matrix, _ loss: Loss, _ reduction: LossReduction) -> Double {
        loss.value(forward(x).output, y, reduction: reduction)
    }
}
