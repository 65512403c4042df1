import LinearAlgebra

extension Network {
    /// The Jacobians J_i = ∂r_L/∂v_i (n_L × n_i) of one sample, evaluated at the
    /// potentials `potentials` (rows are samples), by the backward recursion
    /// J_L = D_L,  J_i = J_{i+1} W_{i+1} D_i  with D_i = diag φ_i'(v_i).
    ///
    /// Concatenated they form the paper's J = [J_1, …, J_L] (Lemma 1).
    public func layerJacobians(at potentials: [Matrix], sample s: Int) -> [Matrix] {
        let L = depth
        var result = [Matrix](repeating: Matrix(rows: 0, columns: 0), count: L)
        let dL = potentials[L - 1].row(s).map { activations[L - 1].derivative($0) }
        var j = Matrix(rows: outputSize, columns: outputSize)
        for k in 0..<outputSize { j[k, k] = dL[k] }
        result[L - 1] = j
        var i = L - 2
        while i >= 0 {
            var next = Matrix.product(result[i + 1], .none, weights[i + 1], .none)
            let d = potentials[i].row(s).map { activations[i].derivative($0) }
            for r in 0..<next.rows {
                for c in 0..<next.columns { next[r, c] *= d[c] }
            }
            result[i] = next
            i -= 1
        }
        return result
    }

    /// J = [J_1, …, J_L] (n_L × N) for one sample.
    public func jacobian(at potentials: [Matrix], sample s: Int) -> Matrix {
        Matrix.hstack(layerJacobians(at: potentials, sample: s))
    }
}
