import CBLAS

/// A LAPACK routine reported failure.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The matrix is exactly singular (LAPACK info > 0 from a factorization).
    case singular(routine: String)
    /// An iterative routine (eigenvalues, SVD) did not converge.
    case notConverged(routine: String, info: Int)
    /// Input with NaN or infinite elements; LAPACK's behaviour on them is undefined.
    case nonFinite(routine: String)
    case shapeMismatch(String)
    /// A size that would not fit in memory (`MemoryBudget`) or overflows 64 bits.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .singular(let r): "\(r): matrix is singular"
        case .notConverged(let r, let info): "\(r): did not converge (info \(info))"
        case .nonFinite(let r): "\(r): input contains NaN or Inf"
        case .shapeMismatch(let s): "shape mismatch: \(s)"
        case .tooLarge(let s): s
        }
    }
}

/// A complex eigenvalue λ = re + i·im.
public struct Eigenvalue: Sendable, Equatable {
    public var re: Double
    public var im: Double

    public init(re: Double, im: Double) {
        self.re = re
        self.im = im
    }
}

/// A thin singular value decomposition A = U·diag(s)·Vᵀ with k = min(m, n).
public struct SVD: Sendable {
    /// m×k, orthonormal columns.
    public var u: Matrix
    /// Singular values, descending, length k.
    public var singularValues: [Double]
    /// k×n, orthonormal rows.
    public var vt: Matrix
}

extension Matrix {
    /// Solves A·X = B for square A by LU with partial pivoting (dgesv).
    public func solve(_ b: Matrix) throws -> Matrix {
        guard isSquare, b.rows == rows else {
            throw LinearAlgebraError.shapeMismatch("solve \(rows)×\(columns) with right-hand side \(b.rows)×\(b.columns)")
        }
        guard isFinite, b.isFinite else { throw LinearAlgebraError.nonFinite(routine: "dgesv") }
        if rows == 0 { return b }
        var a = storage
        var x = b.storage
        var pivots = [Int32](repeating: 0, count: rows)
        let info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, Int32(rows), Int32(b.columns),
                                 &a, Int32(rows), &pivots, &x, Int32(max(1, b.columns)))
        if info > 0 { throw LinearAlgebraError.singular(routine: "dgesv") }
        precondition(info == 0, "dgesv: illegal argument \(-info)")
        return Matrix(rows: b.rows, columns: b.columns, storage: x)!
    }

    /// Solves A·x = b for one right-hand side.
    public func solve(_ b: [Double]) throws -> [Double] {
        try solve(Matrix(column: b)).storage
    }

    /// A⁻¹ (via dgesv against the identity).
    public func inverse() throws -> Matrix { try solve(.identity(rows)) }

    /// Eigenvalues of a general (non-symmetric) square matrix (dgeev, no vectors).
    public func eigenvalues() throws -> [Eigenvalue] {
        guard isSquare else { throw LinearAlgebraError.shapeMismatch("eigenvalues of \(rows)×\(columns)") }
        guard isFinite else { throw LinearAlgebraError.nonFinite(routine: "dgeev") }
        if rows == 0 { return [] }
        var a = storage
        var wr = [Double](repeating: 0, count: rows)
        var wi = [Double](repeating: 0, count: rows)
        var leftDummy = [Double](repeating: 0, count: 1)
        var rightDummy = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "N")),
                                 Int32(rows), &a, Int32(rows), &wr, &wi,
                                 &leftDummy, 1, &rightDummy, 1)
        if info > 0 { throw LinearAlgebraError.notConverged(routine: "dgeev", info: Int(info)) }
        precondition(info == 0, "dgeev: illegal argument \(-info)")
        return (0..<rows).map { Eigenvalue(re: wr[$0], im: wi[$0]) }
    }

    /// The largest real part among the eigenvalues: the stability abscissa.
    public func maxRealEigenvalue() throws -> Double {
        try eigenvalues().map(\.re).max() ?? -.infinity
    }

    /// Thin SVD by divide and conquer (dgesdd).
    public func svd() throws -> SVD {
        guard isFinite else { throw LinearAlgebraError.nonFinite(routine: "dgesdd") }
        let k = Swift.min(rows, columns)
        if k == 0 {
            return SVD(u: Matrix(rows: rows, columns: 0), singularValues: [], vt: Matrix(rows: 0, columns: columns))
        }
        var a = storage
        var s = [Double](repeating: 0, count: k)
        var u = Matrix(rows: rows, columns: k)
        var vt = Matrix(rows: k, columns: columns)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(rows), Int32(columns),
                                  &a, Int32(columns), &s, &u.storage, Int32(k), &vt.storage, Int32(columns))
        if info > 0 { throw LinearAlgebraError.notConverged(routine: "dgesdd", info: Int(info)) }
        precondition(info == 0, "dgesdd: illegal argument \(-info)")
        return SVD(u: u, singularValues: s, vt: vt)
    }

    /// Moore–Penrose pseudo-inverse A⁺ = V·diag(1/s)·Uᵀ, dropping singular values
    /// below `rcond`·s_max (default: n·ε, NumPy's `pinv` convention uses 1e-15·s_max).
    public func pseudoInverse(rcond: Double? = nil) throws -> Matrix {
        let d = try svd()
        let k = d.singularValues.count
        let smax = d.singularValues.first ?? 0
        let cutoff = (rcond ?? (Double(Swift.max(rows, columns)) * Double.ulpOfOne)) * smax
        // V·diag(1/s) scales the rows of Vᵀ, then one gemm with Uᵀ.
        var scaledVt = d.vt
        for i in 0..<k {
            let inv = d.singularValues[i] > cutoff ? 1 / d.singularValues[i] : 0
            for j in 0..<columns { scaledVt[i, j] *= inv }
        }
        return Matrix.product(scaledVt, .transposed, d.u, .transposed)
    }

    /// Numerical rank: singular values above `rcond`·s_max.
    public func rank(rcond: Double? = nil) throws -> Int {
        let s = try svd().singularValues
        let cutoff = (rcond ?? (Double(Swift.max(rows, columns)) * Double.ulpOfOne)) * (s.first ?? 0)
        return s.filter { $0 > cutoff }.count
    }
}
