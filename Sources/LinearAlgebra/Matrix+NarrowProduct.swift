import CKernels

extension Matrix {
    /// c += scale·bᵀ·a for a narrow b: a is rows × n, b is rows × m, c is m × n.
    ///
    /// The shape of the feedback plasticity of a run, Σ_k −w_k u(k) v^A_i(k)ᵀ with u of
    /// n_L ≈ 10 columns, added step by step. BLAS packs all of a to use each element m
    /// times; `CKernels/outer.c` keeps a block of a's columns and every column of b in
    /// registers instead. Element (c, j) is the fused multiply-add chain of
    /// (scale·b[s, c])·a[s, j] over s in order, continuing from c's value, so every CPU
    /// level gives the same bits. `kernelLevel` runs that level's C body (capped at this
    /// CPU's), for tests; without it, below feature level 3 (no FMA in hardware) the update
    /// is OpenBLAS's dgemm.
    public static func addProduct(transposed b: Matrix, _ a: Matrix, scale: Double, into c: inout Matrix,
                                  kernelLevel: Int? = nil) {
        precondition(a.rows == b.rows, "product inner dimensions differ: \(b.rows) vs \(a.rows)")
        precondition(c.rows == b.columns && c.columns == a.columns,
                     "product output is \(c.rows)×\(c.columns), need \(b.columns)×\(a.columns)")
        if c.count == 0 || a.rows == 0 { return }
        guard let level = VectorMath.fusedKernelLevel(requested: kernelLevel) else {
            gemm(b, .transposed, a, .none, alpha: scale, beta: 1, into: &c)
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    guard let a0 = pa.baseAddress, let b0 = pb.baseAddress, let c0 = pc.baseAddress else { return }
                    dfc_add_tn_at_level(Int32(level), a.rows, a.columns, b.columns, a0, a.columns,
                                        b0, b.columns, scale, c0, c.columns)
                }
            }
        }
    }
}
