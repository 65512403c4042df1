import LinearAlgebra

/// Accumulates C += Σ_k (s_k a_k)ᵀ b_k over the steps k of a run, `steps` at a time: the
/// rows of up to `steps` steps are stacked and folded into C by one product with
/// K = steps·rows instead of one per step with K = rows.
///
/// The forward update Σ_k w_k d_i(k)ᵀ r_{i−1}(k) (Eq. 5 over the trajectory) has this form.
/// A chunk has 64 rows, and gemm with K = 64 ran at a fraction of the BLAS rate; eight
/// steps per product give K = 512. Only the order of the additions changes. (The feedback
/// update Σ_k −w_k v_i^A(k) u(k)ᵀ has it too, but u has only n_L columns: it is added per
/// step by `Matrix.addProduct(transposed:_:scale:into:)`, which needs no copies.)
struct OuterProductBlock: Sendable {
    private var left: Matrix
    private var right: Matrix
    private var fill = 0
    let rowsPerStep: Int
    let steps: Int

    init(rowsPerStep: Int, leftColumns: Int, rightColumns: Int, steps: Int = 8) {
        self.rowsPerStep = rowsPerStep
        self.steps = steps
        left = Matrix(rows: steps * rowsPerStep, columns: leftColumns)
        right = Matrix(rows: steps * rowsPerStep, columns: rightColumns)
    }

    var isFull: Bool { fill == steps }

    /// Appends one step: `scale`·a (rowsPerStep × leftColumns) and b (rowsPerStep × rightColumns).
    mutating func append(_ a: Matrix, scale: Double, _ b: Matrix) {
        precondition(!isFull && a.rows == rowsPerStep && b.rows == rowsPerStep, "OuterProductBlock: append past a full block or wrong rows")
        Self.copy(a, into: &left, at: fill * rowsPerStep, scale: scale)
        Self.copy(b, into: &right, at: fill * rowsPerStep, scale: 1)
        fill += 1
    }

    /// c += Σ over the appended steps of (s a)ᵀ b, and empties the block.
    mutating func flush(into c: inout Matrix) {
        guard fill > 0 else { return }
        if fill < steps {
            // A partial block: the rows not appended must add nothing.
            for k in (fill * rowsPerStep * left.columns)..<left.storage.count { left.storage[k] = 0 }
            for k in (fill * rowsPerStep * right.columns)..<right.storage.count { right.storage[k] = 0 }
        }
        Matrix.gemm(left, .transposed, right, .none, beta: 1, into: &c)
        fill = 0
    }

    @inline(__always)
    private static func copy(_ src: Matrix, into dst: inout Matrix, at row: Int, scale: Double) {
        let offset = row * dst.columns
        precondition(offset + src.count <= dst.count, "OuterProductBlock: step past the block")
        dst.storage.withUnsafeMutableBufferPointer { d in
            src.storage.withUnsafeBufferPointer { p in
                // Through base pointers: `d[offset + k]` kept an overflow check per element,
                // which stopped the scaled copy from vectorizing (≈ 4 % of a feedback pass).
                guard let out = d.baseAddress.map({ $0 + offset }), let from = p.baseAddress else { return }
                if scale == 1 {
                    out.update(from: from, count: p.count)
                } else {
                    for k in 0..<p.count { out[k] = scale * from[k] }
                }
            }
        }
    }
}
