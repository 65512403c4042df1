import CBLAS

/// The real Schur form A = U T Uᵀ of a square matrix (dgees): T is quasi upper triangular
/// (1×1 and 2×2 diagonal blocks carrying the eigenvalues), U is orthogonal.
///
/// A shift A − sI has the same U and T − sI, so one decomposition serves every shift: the
/// smoothed spectral abscissa solves Lyapunov equations at many shifts of one matrix.
public struct SchurForm: Sendable {
    public var t: Matrix
    public var u: Matrix
    public var eigenvalues: [Eigenvalue]

    /// The largest real part among the eigenvalues.
    public var spectralAbscissa: Double { eigenvalues.map(\.re).max() ?? -.infinity }

    /// X solving the continuous Lyapunov equation (A − sI) X + X (A − sI)ᵀ = C, or with
    /// `transposed` (A − sI)ᵀ X + X (A − sI) = C, by Bartels–Stewart: T̃ Y + Y T̃ᵀ = Uᵀ C U
    /// with T̃ = T − sI (dtrsyl), X = U Y Uᵀ. Unique when no two eigenvalues of A − sI sum
    /// to zero, which holds whenever A − sI is stable.
    public func lyapunov(_ c: Matrix, shift s: Double = 0, transposed: Bool = false) throws -> Matrix {
        let n = t.rows
        guard c.rows == n, c.columns == n else {
            throw LinearAlgebraError.shapeMismatch("Lyapunov right-hand side \(c.rows)×\(c.columns) for a \(n)×\(n) matrix")
        }
        guard c.isFinite, s.isFinite else { throw LinearAlgebraError.nonFinite(routine: "dtrsyl") }
        if n == 0 { return c }
        var shifted = t
        for i in 0..<n { shifted[i, i] -= s }
        var y = Matrix.product(u, .transposed, Matrix.product(c, .none, u, .none), .none)
        var scale = 1.0
        let (ta, tb) = transposed ? (UInt8(ascii: "T"), UInt8(ascii: "N")) : (UInt8(ascii: "N"), UInt8(ascii: "T"))
        let info = LAPACKE_dtrsyl(LAPACK_ROW_MAJOR, Int8(ta), Int8(tb), 1, Int32(n), Int32(n),
                                  shifted.storage, Int32(n), shifted.storage, Int32(n), &y.storage, Int32(n), &scale)
        // info = 1: eigenvalues of A − sI nearly sum to zero, so the solution is not unique
        // (perturbed values were used): a caller asking at an unstable shift gets an error, not noise.
        if info == 1 { throw LinearAlgebraError.singular(routine: "dtrsyl (eigenvalues of A − sI with λ_i + λ_j ≈ 0)") }
        precondition(info == 0, "dtrsyl: illegal argument \(-info)")
        if scale != 1 { y = y * (1 / scale) }
        return Matrix.product(u, .none, Matrix.product(y, .none, u, .transposed), .none)
    }
}

extension Matrix {
    /// The real Schur decomposition A = U T Uᵀ (dgees, no ordering).
    public func schur() throws -> SchurForm {
        guard isSquare else { throw LinearAlgebraError.shapeMismatch("Schur form of \(rows)×\(columns)") }
        guard isFinite else { throw LinearAlgebraError.nonFinite(routine: "dgees") }
        let n = rows
        if n == 0 { return SchurForm(t: self, u: self, eigenvalues: []) }
        var a = storage
        var wr = [Double](repeating: 0, count: n), wi = wr
        var vs = [Double](repeating: 0, count: n * n)
        var sdim: Int32 = 0
        let info = LAPACKE_dgees(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "N")), nil,
                                 Int32(n), &a, Int32(n), &sdim, &wr, &wi, &vs, Int32(n))
        if info > 0 { throw LinearAlgebraError.notConverged(routine: "dgees", info: Int(info)) }
        precondition(info == 0, "dgees: illegal argument \(-info)")
        var t = self, u = self
        t.storage = a
        u.storage = vs
        return SchurForm(t: t, u: u, eigenvalues: (0..<n).map { Eigenvalue(re: wr[$0], im: wi[$0]) })
    }
}
