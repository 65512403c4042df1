import LinearAlgebra

/// Lemma 1's linearized steady state, the basis of `dfc-ssa`:
///
///     u_ss = (J Q + α̃ I)⁻¹ δ_L
///
/// per sample, with J the output Jacobian at the feedforward state.
public struct SteadyStateApproximation: Sendable {
    /// u_ss for each sample (batch × n_L).
    public var u: Matrix
    /// The controlled potentials v_i built from u_ss (batch × n_i).
    public var soma: [Matrix]
    /// Basal inputs W_i r_{i−1} + b_i, with r_{i−1} the controlled rates below.
    public var basal: [Matrix]
    /// The controlled rates r_i = φ(v_i) (batch × n_i, index 0 is layer 1).
    public var rates: [Matrix]

    /// Solves Lemma 1 for every sample and builds the controlled state by `propagation`.
    public init(network: Network, feedforward ff: FeedforwardState, delta: Matrix,
                effectiveLeak alphaTilde: Double, propagation: Conventions.SSAPropagation) throws {
        let B = delta.rows
        let q = network.feedback
        let products = network.jacobianTimesFeedback(at: ff.potentials, rates: Array(ff.rates.dropFirst()))
        do { u = try Self.solve(products, delta, effectiveLeak: alphaTilde) } catch let e as SingularSample {
            throw ModelError("dfc-ssa: J·Q + α̃I is singular for sample \(e.sample) (α̃ = \(alphaTilde)); raise dfc.alpha or check Q")
        }
        var soma: [Matrix] = []
        var basal: [Matrix] = []
        var rates: [Matrix] = []
        var rPrev = ff.rates[0]
        for i in 0..<network.depth {
            var apical = Matrix(rows: B, columns: network.weights[i].rows)
            Matrix.gemm(u, .none, q[i], .transposed, into: &apical)
            var b = Matrix(rows: B, columns: network.weights[i].rows)
            network.basal(layer: i, rPrev, into: &b)
            let v: Matrix
            switch propagation {
            case .nonlinear: v = b + apical
            case .linear: v = ff.potentials[i] + apical
            }
            soma.append(v)
            basal.append(b)
            rPrev = network.phi(i, v)
            rates.append(rPrev)
        }
        self.soma = soma
        self.basal = basal
        self.rates = rates
    }

    /// The sample whose J·Q + α̃I could not be solved.
    public struct SingularSample: Error { public var sample: Int }

    /// (J_s Q + α̃ I)⁻¹ r_s for every sample s: `products` are the J_s Q (n_L × n_L), `rhs` is
    /// batch × n_L. Lemma 1 with r = δ_L; the circuit's steady-state search with r its residual.
    public static func solve(_ products: [Matrix], _ rhs: Matrix, effectiveLeak alphaTilde: Double) throws -> Matrix {
        var out = Matrix(rows: rhs.rows, columns: rhs.columns)
        for s in 0..<rhs.rows {
            var a = products[s]
            for k in 0..<rhs.columns { a[k, k] += alphaTilde }
            let x: [Double]
            do { x = try a.solve(rhs.row(s)) } catch { throw SingularSample(sample: s) }
            for k in 0..<rhs.columns { out[s, k] = x[k] }
        }
        return out
    }

    /// The steady-state form of Eq. 5 at this state, summed over the batch:
    /// ΔW_i = Σ_s (r_i − φ(v_i^B)) r_{i−1}ᵀ, Δb_i = Σ_s (r_i − φ(v_i^B)), r_0 = x.
    ///
    /// The same values as `Network.steadyStateUpdate(input:soma:)`, bit for bit, from the
    /// basal inputs and rates built here instead of a second forward pass (a sixth of a
    /// `dfc-ssa` update's products).
    public func update(network: Network, input: Matrix) -> (dW: [Matrix], db: [[Double]]) {
        var dW: [Matrix] = []
        var db: [[Double]] = []
        for i in 0..<network.depth {
            let rPrev = i == 0 ? input : rates[i - 1]
            let d = rates[i] - network.phi(i, basal[i])
            dW.append(Matrix.product(d, .transposed, rPrev, .none))
            db.append(d.columnSums())
        }
        return (dW, db)
    }
}

extension Network {
    /// The steady-state form of Eq. 5 summed over the batch, for any controlled potentials:
    /// ΔW_i = Σ_s (φ(v_i) − φ(W_i r_{i−1} + b_i)) r_{i−1}ᵀ with the controlled rates
    /// (one forward pass; `SteadyStateApproximation.update` reuses the one it made).
    public func steadyStateUpdate(input: Matrix, soma: [Matrix]) -> (dW: [Matrix], db: [[Double]]) {
        var dW: [Matrix] = []
        var db: [[Double]] = []
        var rPrev = input
        for i in 0..<depth {
            var b = Matrix(rows: input.rows, columns: weights[i].rows)
            basal(layer: i, rPrev, into: &b)
            let r = phi(i, soma[i])
            let d = r - phi(i, b)
            dW.append(Matrix.product(d, .transposed, rPrev, .none))
            db.append(d.columnSums())
            rPrev = r
        }
        return (dW, db)
    }
}
