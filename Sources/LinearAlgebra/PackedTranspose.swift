import CKernels

/// A matrix B (n × k) packed once for many products C = A·Bᵀ (+ a bias row), the shape of
/// every per-step product of the dynamics: v^B_i = r_{i−1} W_iᵀ + b_i and Q_i u.
///
/// B is stored in panels of 16 of its rows, k-major, so the kernel reads it in order and
/// never repacks; A is read in place. Element (i, j) of C is the fused multiply-add chain
/// Σ_k A[i, k]·B[j, k] taken in k order from zero, then + bias[j]: the same bits on
/// every CPU level and tile shape (`CKernels/gemm.c`), unlike BLAS, whose order depends
/// on the kernel it picks. On CPUs without AVX2 and FMA the product is OpenBLAS's.
public struct PackedTranspose: Sendable {
    /// n: B's rows, the product's columns.
    public let rows: Int
    /// k: B's columns, the inner dimension.
    public let columns: Int
    let packed: [Double]
    /// B itself, for the BLAS path below feature level 3.
    let original: Matrix

    public init(_ b: Matrix) {
        rows = b.rows
        columns = b.columns
        original = b
        var out = [Double](repeating: 0, count: dfc_pack_nt_count(b.rows, b.columns))
        b.storage.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { po in
                guard let src = pb.baseAddress, let dst = po.baseAddress else { return }
                dfc_pack_nt(b.rows, b.columns, src, max(1, b.columns), dst)
            }
        }
        packed = out
    }
}

extension Matrix {
    /// c = a·bᵀ, plus `bias` on every row when given (a is m × k, b is n × k, c is m × n).
    /// `kernelLevel` runs that level's C body (capped at this CPU's), for tests; 0 is the
    /// portable one. Without it: this CPU's level, or OpenBLAS below level 3.
    public static func multiply(_ a: Matrix, transposed b: PackedTranspose, bias: [Double]? = nil,
                                into c: inout Matrix, kernelLevel: Int? = nil) {
        precondition(a.columns == b.columns, "product inner dimensions differ: \(a.columns) vs \(b.columns)")
        precondition(c.rows == a.rows && c.columns == b.rows, "product output is \(c.rows)×\(c.columns), need \(a.rows)×\(b.rows)")
        precondition(bias == nil || bias?.count == b.rows, "bias has \(bias?.count ?? 0) entries, need \(b.rows)")
        if a.rows == 0 || b.rows == 0 { return }
        if b.columns == 0 {
            for i in 0..<c.rows { for j in 0..<c.columns { c[i, j] = bias?[j] ?? 0 } }
            return
        }
        guard let level = VectorMath.fusedKernelLevel(requested: kernelLevel) else {
            gemm(a, .none, b.original, .transposed, into: &c)
            if let bias { c.addRowVector(bias) }
            return
        }
        // A large product outside a parallel region runs as one slab of rows per core. Each
        // element is its own FMA chain, so how the rows are split never changes a bit.
        let parts = (2 * a.rows * b.rows * b.columns >= parallelFlops && !Parallel.isActive) ? Parallel.workers : 1
        let lda = max(1, a.columns), ldc = max(1, c.columns)
        a.storage.withUnsafeBufferPointer { pa in
            b.packed.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    guard let a0 = pa.baseAddress, let b0 = pb.baseAddress, let c0 = pc.baseAddress else { return }
                    func run(_ biasPointer: UnsafePointer<Double>?) {
                        Parallel.forEachSlab(of: a.rows, parts: parts) { _, slab in
                            dfc_gemm_nt_at_level(Int32(level), slab.count, b.rows, b.columns, a0 + slab.lowerBound * lda, lda,
                                                 b0, biasPointer, c0 + slab.lowerBound * ldc, ldc)
                        }
                    }
                    if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                }
            }
        }
    }

    /// c = a·bᵀ + bias with every element computed alone: row i of c depends on row i of a
    /// and on nothing else, neither the other rows nor how many there are. The feedforward
    /// pass goes through here, so a batch gathered from stored potentials has the bits of the
    /// pass over the gathered inputs, and test sets give the same values in any batch size.
    /// This holds on every CPU with AVX2 and FMA (AVX-512 and AVX2 give the same bits); below
    /// that the product is OpenBLAS's and holds only to rounding.
    public static func rowExactProduct(_ a: Matrix, transposed b: Matrix, bias: [Double]? = nil, into c: inout Matrix) {
        multiply(a, transposed: PackedTranspose(b), bias: bias, into: &c)
    }
}
