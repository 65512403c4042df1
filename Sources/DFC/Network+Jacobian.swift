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

extension Network {
    /// J·Q = Σ_i J_i Q_i (n_L × n_L) for every sample of a batch, by the forward recursion
    ///
    ///     S_1 = Q_1,  S_i = Q_i + W_i D_{i−1} S_{i−1},  J·Q = D_L S_L,
    ///
    /// which is Σ_i J_i Q_i with J_i = D_L W_L ⋯ W_{i+1} D_i. All samples go through one
    /// product per layer (the batch's S_iᵀ stacked, B·n_L rows): per-sample Jacobians
    /// cost the same flops in products with n_L = 10 rows, far below the BLAS rate.
    /// `rates` (r_i = φ(v_i), index 0 is layer 1), when the caller has them, give D_i
    /// without evaluating φ again; the result is the same to the bit.
    public func jacobianTimesFeedback(at potentials: [Matrix], rates: [Matrix]? = nil) -> [Matrix] {
        let L = depth, nL = outputSize, B = potentials[0].rows
        precondition(rates.map { $0.count == L } ?? true, "jacobianTimesFeedback: \(rates?.count ?? 0) rate matrices for \(L) layers")
        func slope(_ i: Int) -> Matrix {
            guard let rates else { return activations[i].derivative(potentials[i]) }
            return activations[i].derivative(potentials[i], rates: rates[i])
        }
        // St holds S_i(s)ᵀ for every sample s: row s·n_L + k is column k of S_i(s).
        func tiled(_ q: Matrix) -> Matrix {
            let qt = q.transposed
            var out = Matrix(rows: B * nL, columns: qt.columns)
            for s in 0..<B {
                out.storage.replaceSubrange((s * nL * qt.columns)..<((s + 1) * nL * qt.columns), with: qt.storage)
            }
            return out
        }
        var st = tiled(feedback[0])
        for i in 1..<max(L, 1) {
            let d = slope(i - 1)
            let n = d.columns
            st.storage.withUnsafeMutableBufferPointer { p in
                d.storage.withUnsafeBufferPointer { dp in
                    for s in 0..<B {
                        for k in 0..<nL {
                            let row = (s * nL + k) * n
                            for j in 0..<n { p[row + j] *= dp[s * n + j] }
                        }
                    }
                }
            }
            var next = tiled(feedback[i])
            Matrix.gemm(st, .none, weights[i], .transposed, beta: 1, into: &next)
            st = next
        }
        let dL = slope(L - 1)
        return (0..<B).map { s in
            Matrix(rows: nL, columns: nL) { a, k in dL[s, a] * st[s * nL + k, a] }
        }
    }
}
