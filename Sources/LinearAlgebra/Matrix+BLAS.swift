import CBLAS

/// Whether an operand enters a product as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

extension Matrix {
    /// C ← α·op(A)·op(B) + β·C (cblas_dgemm, row-major).
    ///
    /// This is the hot path of every model: batched layer passes
    /// (batch×n_{i−1} · W_iᵀ) and plasticity outer products (Δᵀ·r) both land here.
    /// `c` must already have the result's shape; with β = 0 its contents are ignored.
    public static func gemm(
        _ a: Matrix, _ ta: Transpose = .none,
        _ b: Matrix, _ tb: Transpose = .none,
        alpha: Double = 1, beta: Double = 0, into c: inout Matrix
    ) {
        let m = ta == .none ? a.rows : a.columns
        let k = ta == .none ? a.columns : a.rows
        let kb = tb == .none ? b.rows : b.columns
        let n = tb == .none ? b.columns : b.rows
        precondition(k == kb, "gemm inner dimensions differ: \(k) vs \(kb)")
        precondition(c.rows == m && c.columns == n, "gemm output is \(c.rows)×\(c.columns), need \(m)×\(n)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            c.storage.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= beta } }
            return
        }
        Parallel.configure()
        let lda = max(1, a.columns), ldb = max(1, b.columns), ldc = max(1, c.columns)
        // Large products split into one slab of C per core (rows when C is tall, columns
        // when wide), each a serial dgemm on offset pointers: same math, no copies.
        let parts = (2 * m * n * k >= Self.parallelFlops && !Parallel.isActive) ? Parallel.workers : 1
        let splitRows = m >= n
        let extent = splitRows ? m : n
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    guard let a0 = pa.baseAddress, let b0 = pb.baseAddress, let c0 = pc.baseAddress else { return }
                    let cBase = UnsafeMutablePointer(mutating: c0)
                    Parallel.forEachSlab(of: extent, parts: parts) { _, slab in
                        let start = slab.lowerBound, size = slab.count
                        var ap = a0, bp = b0, cp = cBase
                        var mm = m, nn = n
                        if splitRows {
                            ap = ta == .none ? a0 + start * lda : a0 + start
                            cp = cBase + start * ldc
                            mm = size
                        } else {
                            bp = tb == .none ? b0 + start : b0 + start * ldb
                            cp = cBase + start
                            nn = size
                        }
                        cblas_dgemm(CblasRowMajor, ta.cblas, tb.cblas, Int32(mm), Int32(nn), Int32(k), alpha,
                                    ap, Int32(lda), bp, Int32(ldb), beta, cp, Int32(ldc))
                    }
                }
            }
        }
    }

    /// 2mnk above which one product is split across cores: below it the dispatch costs
    /// more than the second core brings (measured with `dfcspice bench`).
    public static let parallelFlops = 2_000_000

    /// op(A)·op(B) as a new matrix.
    public static func product(_ a: Matrix, _ ta: Transpose = .none, _ b: Matrix, _ tb: Transpose = .none) -> Matrix {
        let m = ta == .none ? a.rows : a.columns
        let n = tb == .none ? b.columns : b.rows
        var c = Matrix(rows: m, columns: n)
        gemm(a, ta, b, tb, into: &c)
        return c
    }

    /// A·B.
    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, .none, b, .none) }

    /// y ← α·op(A)·x + β·y (cblas_dgemv).
    public func gemv(_ t: Transpose = .none, _ x: [Double], alpha: Double = 1, beta: Double = 0, into y: inout [Double]) {
        let outLength = t == .none ? rows : columns
        let inLength = t == .none ? columns : rows
        precondition(x.count == inLength, "gemv input length \(x.count) ≠ \(inLength)")
        precondition(y.count == outLength, "gemv output length \(y.count) ≠ \(outLength)")
        if rows == 0 || columns == 0 {
            for i in y.indices { y[i] *= beta }
            return
        }
        storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasRowMajor, t.cblas, Int32(rows), Int32(columns), alpha,
                                pa.baseAddress, Int32(max(1, columns)), px.baseAddress, 1, beta, py.baseAddress, 1)
                }
            }
        }
    }

    /// op(A)·x as a new array.
    public func times(_ x: [Double], _ t: Transpose = .none) -> [Double] {
        var y = [Double](repeating: 0, count: t == .none ? rows : columns)
        gemv(t, x, into: &y)
        return y
    }
}

/// OpenBLAS threading, so benchmarks and tests can state what they ran with.
public enum BLASThreads {
    /// Threads OpenBLAS uses for one call.
    public static var count: Int { Int(openblas_get_num_threads()) }
    /// Sets the thread count for subsequent calls (the project keeps it at 1; see `Parallel`).
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}
