import DFC
import LinearAlgebra

/// How errors travel backward (DI paper, Eq. 3–4, 10, 14, 17–18).
public enum InversionRule: String, Sendable, Codable, CaseIterable {
    /// Backpropagation: δ_{l−1} = W_lᵀ δ_l ∘ g'(a_{l−1}).
    case bp
    /// Feedback alignment: δ_{l−1} = −B_l δ_l ∘ g'(a_{l−1}). The sign follows DI's
    /// convention B ≈ −Wᵀ, so FA with Tr-Init starts as BP (the paper's Eq. 4 writes
    /// M = B with FA's usual positive random B).
    case fa
    /// Pseudobackprop: δ_{l−1} = W_l⁺ δ_l ∘ g'(a_{l−1}).
    case pbp
    /// Non-dynamic inversion, the exact steady state (Eq. 17): B_l (W_l B_l − α I)⁻¹ δ_l ∘ g'.
    case ndi
    /// Sequential dynamic inversion: Eq. 5 and 8 simulated layer by layer by Euler, then ∘ g' (Eq. 18).
    case di
    /// Single-loop dynamic inversion: the output controller drives the first hidden layer
    /// through the nonlinear readout of every layer in between (Eq. 14).
    case sldi

    /// Rules that use the feedback matrices B.
    public var usesFeedback: Bool { self == .fa || self == .ndi || self == .di || self == .sldi }
}

/// The controller and its simulation (DI paper, Section 5: 1 000 Euler steps of 0.5).
public struct InversionParameters: Sendable, Equatable, Codable {
    /// Leak α of the integral controllers.
    public var alpha: Double = 0.1
    public var dt: Double = 0.5
    public var steps: Int = 1000
    /// A DI run has converged when its relative residual ‖W δ_{l−1} − δ_l − α u‖/‖δ_l‖ is below this.
    public var tolerance: Double = 1e-3
    /// Shorten dt where forward Euler would diverge or crawl: each simulated controller
    /// uses min(dt, half its Euler step limit) — at half the limit the critical mode
    /// contracts at half its continuous rate, near the limit it barely moves — recomputed
    /// for every backward pass. Without it, dt = 0.5 diverges as soon as a singular
    /// value of W_l passes ≈ 1.3 (with B = −Wᵀ).
    public var adaptiveStep = true

    public init() {}

    /// The step a controller of `layer` is integrated with.
    public func step(for layer: InversionLayer) throws -> Double {
        guard adaptiveStep else { return dt }
        let limit = try layer.eulerStepLimit()
        guard limit > 0 else { throw ModelError("dynamic inversion: the controller of a \(layer.weights.rows)×\(layer.weights.columns) layer is unstable (no Euler step converges); check B and α") }
        return min(dt, 0.5 * limit)
    }
}

/// A feedforward network h_l = g(W_l h_{l−1} + b_l) with the DI paper's feedback: B_l
/// (d_{l−1} × d_l) for every hidden layer below l = 2 … L, and B_sl (d_1 × d_L) from the
/// output to the first hidden layer for SLDI.
public struct InversionModel: Sendable {
    public var network: Network
    /// B_2 … B_L (index 0 is B_2).
    public var feedback: [Matrix]
    public var singleLoopFeedback: Matrix

    public init(network: Network, feedback: [Matrix], singleLoopFeedback: Matrix) throws {
        let L = network.depth
        guard L >= 2 else { throw ModelError("dynamic inversion needs at least one hidden layer (sizes \(network.sizes))") }
        guard feedback.count == L - 1 else { throw ModelError("expected \(L - 1) feedback matrices B2…B\(L), found \(feedback.count)") }
        for l in 2...L {
            let b = feedback[l - 2], w = network.weights[l - 1]
            guard b.rows == w.columns, b.columns == w.rows else {
                throw ModelError("B\(l) has shape \(b.rows)×\(b.columns), need \(w.columns)×\(w.rows)")
            }
            guard b.isFinite else { throw ModelError("B\(l) contains NaN or Inf") }
        }
        guard singleLoopFeedback.rows == network.sizes[1], singleLoopFeedback.columns == network.outputSize else {
            throw ModelError("the SLDI feedback has shape \(singleLoopFeedback.rows)×\(singleLoopFeedback.columns), need \(network.sizes[1])×\(network.outputSize)")
        }
        self.network = network
        self.feedback = feedback
        self.singleLoopFeedback = singleLoopFeedback
    }

    /// The layer pair l (2 … L) as a controller problem.
    public func layer(_ l: Int, alpha: Double) -> InversionLayer {
        InversionLayer(weights: network.weights[l - 1], feedback: feedback[l - 2], alpha: alpha)
    }

    /// W_L g(⋯ W_3 g(W_2 g(z))): how SLDI reads a first-hidden-layer error out at the output
    /// (Eq. 14 chained), with every intermediate readout.
    func singleLoopReadout(_ z: Matrix) -> [Matrix] {
        var chain = [z]
        for l in 2...network.depth {
            let h = network.activations[l - 2].apply(chain[chain.count - 1])
            chain.append(Matrix.product(h, .none, network.weights[l - 1], .transposed))
        }
        return chain
    }

    /// The linearization of the SLDI readout at zero error, J_sl = W_L D ⋯ W_2 D with D = g'(0).
    public var singleLoopJacobian: Matrix {
        var j = Matrix.identity(network.sizes[1])
        for l in 2...network.depth {
            let slope = network.activations[l - 2].derivative(0)
            j = network.weights[l - 1] * (j * slope)
        }
        return j
    }
}
