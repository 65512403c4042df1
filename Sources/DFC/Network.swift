import LinearAlgebra

/// Why a model or its inputs cannot be used; the message names the array or field.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The parameters of a DFC network with L layers.
///
/// - `weights[i−1]` is W_i (n_i × n_{i−1}), `biases[i−1]` is b_i (n_i),
/// - `feedback[i−1]` is Q_i (n_i × n_L): the direct feedback from the controller
///   output u to the apical compartment of layer i (also DFA's B_i),
/// - `feedbackAlignment[i−2]` is FA's B_i (n_{i−1} × n_i, the shape of W_iᵀ) for i ≥ 2,
///   present only when the model carries FA matrices.
public struct Network: Sendable, Equatable {
    public var weights: [Matrix]
    public var biases: [[Double]]
    public var feedback: [Matrix]
    public var feedbackAlignment: [Matrix]
    /// φ_i per layer, length L.
    public var activations: [Activation]
    /// Measured φ of some layers (layer index from 0), used in place of `activations` by the
    /// forward pass and the dynamics (`phi`); empty for the equations themselves.
    public var transferCurves: [Int: TransferCurve] = [:]

    /// Layer sizes n_0 … n_L.
    public var sizes: [Int] { [weights.first?.columns ?? 0] + weights.map(\.rows) }
    public var depth: Int { weights.count }
    /// n_L.
    public var outputSize: Int { weights.last?.rows ?? 0 }
    /// N = Σ_{i≥1} n_i: the length of the concatenated state v.
    public var hiddenTotal: Int { weights.reduce(0) { $0 + $1.rows } }

    /// Builds a network after checking every shape against `weights`.
    public init(weights: [Matrix], biases: [[Double]], feedback: [Matrix],
                feedbackAlignment: [Matrix] = [], activations: [Activation]) throws {
        guard !weights.isEmpty else { throw ModelError("a network needs at least one layer (W1)") }
        let L = weights.count
        guard biases.count == L else { throw ModelError("expected \(L) bias vectors b1…b\(L), found \(biases.count)") }
        guard feedback.count == L else { throw ModelError("expected \(L) feedback matrices Q1…Q\(L), found \(feedback.count)") }
        guard activations.count == L else { throw ModelError("expected \(L) activations, found \(activations.count)") }
        let nL = weights[L - 1].rows
        for i in 0..<L {
            let name = i + 1
            if i > 0, weights[i].columns != weights[i - 1].rows {
                throw ModelError("W\(name) has shape \(weights[i].rows)×\(weights[i].columns) but layer \(i) has \(weights[i - 1].rows) neurons (need \(weights[i].rows)×\(weights[i - 1].rows))")
            }
            guard weights[i].rows > 0, weights[i].columns > 0 else { throw ModelError("W\(name) is empty") }
            guard biases[i].count == weights[i].rows else {
                throw ModelError("b\(name) has length \(biases[i].count), need \(weights[i].rows)")
            }
            guard feedback[i].rows == weights[i].rows, feedback[i].columns == nL else {
                throw ModelError("Q\(name) has shape \(feedback[i].rows)×\(feedback[i].columns), need \(weights[i].rows)×\(nL)")
            }
            guard weights[i].isFinite else { throw ModelError("W\(name) contains NaN or Inf") }
            guard biases[i].allSatisfy(\.isFinite) else { throw ModelError("b\(name) contains NaN or Inf") }
            guard feedback[i].isFinite else { throw ModelError("Q\(name) contains NaN or Inf") }
        }
        if !feedbackAlignment.isEmpty {
            guard feedbackAlignment.count == L - 1 else {
                throw ModelError("expected \(L - 1) FA matrices B2…B\(L), found \(feedbackAlignment.count)")
            }
            for i in 1..<L {
                let b = feedbackAlignment[i - 1]
                guard b.rows == weights[i].columns, b.columns == weights[i].rows else {
                    throw ModelError("B\(i + 1) has shape \(b.rows)×\(b.columns), need \(weights[i].columns)×\(weights[i].rows)")
                }
                guard b.isFinite else { throw ModelError("B\(i + 1) contains NaN or Inf") }
            }
        }
        self.weights = weights
        self.biases = biases
        self.feedback = feedback
        self.feedbackAlignment = feedbackAlignment
        self.activations = activations
    }

    /// Checks that a batch (rows are samples) has n_0 columns and finite values.
    public func validateInput(_ x: Matrix, name: String = "input") throws {
        guard x.columns == sizes[0] else {
            throw ModelError("\(name) has \(x.columns) features per sample, the network expects \(sizes[0])")
        }
        guard x.rows > 0 else { throw ModelError("\(name) has no samples") }
        guard x.isFinite else { throw ModelError("\(name) contains NaN or Inf") }
    }

    /// The stacked feedback Q = [Q_1; …; Q_L] (N × n_L).
    public var stackedFeedback: Matrix { Matrix.vstack(feedback) }
}

/// The feedforward equilibrium (u = 0) of a batch: v_i⁻ and r_i⁻ = φ(v_i⁻) (Eq. 2).
public struct FeedforwardState: Sendable {
    /// r_0 … r_L, each batch × n_i (r_0 is the input).
    public var rates: [Matrix]
    /// v_1 … v_L, each batch × n_i (index 0 is layer 1).
    public var potentials: [Matrix]
    public var output: Matrix { rates[rates.count - 1] }
}

extension Network {
    /// The basal input of layer i for a batch of presynaptic rates: r_{i−1}·W_iᵀ + b_i.
    ///
    /// Row-exact (`Matrix.rowExactProduct`): a sample's potentials do not depend on which
    /// other samples share its batch, on any BLAS kernel. The feedforward store, evaluation in
    /// batches of any size and exact resume rely on it.
    func basal(layer i: Int, _ r: Matrix, into out: inout Matrix) {
        Matrix.rowExactProduct(r, transposed: weights[i], bias: biases[i], into: &out)
    }

    /// The feedforward pass v_i = W_i φ(v_{i−1}) + b_i for a batch (rows are samples).
    public func forward(_ x: Matrix) -> FeedforwardState {
        var rates = [x]
        var potentials: [Matrix] = []
        for i in 0..<depth {
            var v = Matrix(rows: x.rows, columns: weights[i].rows)
            basal(layer: i, rates[i], into: &v)
            potentials.append(v)
            rates.append(phi(i, v))
        }
        return FeedforwardState(rates: rates, potentials: potentials)
    }

    /// Rates from given potentials: r_i = φ_i(v_i).
    func rates(of potentials: [Matrix], input: Matrix) -> [Matrix] {
        [input] + potentials.enumerated().map { phi($0.offset, $0.element) }
    }
}
