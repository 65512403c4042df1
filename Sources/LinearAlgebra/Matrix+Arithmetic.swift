/// Element-wise arithmetic. These are O(n) passes; everything O(n²)·k or more
/// goes through BLAS (see `Matrix+BLAS.swift`).
extension Matrix {
    @inlinable
    public func map(_ f: (Double) -> Double) -> Matrix {
        var out = self
        out.storage.withUnsafeMutableBufferPointer { p in
            for k in p.indices { p[k] = f(p[k]) }
        }
        return out
    }

    /// Element-wise combination of two equally shaped matrices.
    @inlinable
    public func zipMap(_ other: Matrix, _ f: (Double, Double) -> Double) -> Matrix {
        precondition(rows == other.rows && columns == other.columns,
                     "shape mismatch \(rows)×\(columns) vs \(other.rows)×\(other.columns)")
        var out = self
        out.storage.withUnsafeMutableBufferPointer { p in
            other.storage.withUnsafeBufferPointer { q in
                for k in p.indices { p[k] = f(p[k], q[k]) }
            }
        }
        return out
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix { a.zipMap(b, +) }
    public static func - (a: Matrix, b: Matrix) -> Matrix { a.zipMap(b, -) }
    public static prefix func - (a: Matrix) -> Matrix { a.map { -$0 } }
    public static func * (s: Double, a: Matrix) -> Matrix { a.map { s * $0 } }
    public static func * (a: Matrix, s: Double) -> Matrix { a.map { s * $0 } }
    public static func / (a: Matrix, s: Double) -> Matrix { a.map { $0 / s } }
    public static func += (a: inout Matrix, b: Matrix) { a.addScaled(b, 1) }
    public static func -= (a: inout Matrix, b: Matrix) { a.addScaled(b, -1) }

    /// Hadamard (element-wise) product.
    public func hadamard(_ other: Matrix) -> Matrix { zipMap(other, *) }

    /// self += s · other, in place.
    @inlinable
    public mutating func addScaled(_ other: Matrix, _ s: Double) {
        precondition(rows == other.rows && columns == other.columns,
                     "shape mismatch \(rows)×\(columns) vs \(other.rows)×\(other.columns)")
        storage.withUnsafeMutableBufferPointer { p in
            other.storage.withUnsafeBufferPointer { q in
                for k in p.indices { p[k] += s * q[k] }
            }
        }
    }

    /// Adds `vector` (length `columns`) to every row: the batched bias add.
    public mutating func addRowVector(_ vector: [Double]) {
        precondition(vector.count == columns, "row vector length \(vector.count) ≠ \(columns)")
        storage.withUnsafeMutableBufferPointer { p in
            vector.withUnsafeBufferPointer { b in
                guard let out = p.baseAddress, let bias = b.baseAddress else { return }
                for i in 0..<rows {
                    let row = out + i * columns
                    for j in 0..<columns { row[j] += bias[j] }
                }
            }
        }
    }

    /// Sum over rows: the column sums, length `columns`.
    public func columnSums() -> [Double] {
        var s = [Double](repeating: 0, count: columns)
        for i in 0..<rows {
            for j in 0..<columns { s[j] += storage[i * columns + j] }
        }
        return s
    }

    /// Frobenius norm ‖A‖_F.
    public var frobeniusNorm: Double {
        var s = 0.0
        for x in storage { s += x * x }
        return s.squareRoot()
    }

    /// Largest absolute element.
    public var maxAbs: Double { storage.reduce(0) { max($0, abs($1)) } }

    /// Frobenius inner product ⟨A, B⟩ = Σ a_ij b_ij.
    public func dot(_ other: Matrix) -> Double {
        precondition(count == other.count, "dot needs equal element counts")
        var s = 0.0
        for k in 0..<count { s += storage[k] * other.storage[k] }
        return s
    }

    /// Aᵀ (a copy).
    public var transposed: Matrix {
        var out = Matrix(rows: columns, columns: rows)
        for i in 0..<rows {
            for j in 0..<columns { out.storage[j * rows + i] = storage[i * columns + j] }
        }
        return out
    }
}

/// Angle in degrees between two vectors given as flat arrays; 0 for two zero vectors,
/// 90 when exactly one is zero (no direction is shared).
///
/// Uses θ = 2·atan2(‖â − b̂‖, ‖â + b̂‖) with â = a/‖a‖, which stays accurate for
/// nearly parallel vectors where acos(â·b̂) loses half its digits.
public func angleDegrees(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "angle needs equal lengths")
    var aa = 0.0, bb = 0.0
    for k in 0..<a.count {
        aa += a[k] * a[k]
        bb += b[k] * b[k]
    }
    if aa == 0 && bb == 0 { return 0 }
    if aa == 0 || bb == 0 { return 90 }
    let na = aa.squareRoot(), nb = bb.squareRoot()
    var dm = 0.0, dp = 0.0
    for k in 0..<a.count {
        let x = a[k] / na, y = b[k] / nb
        dm += (x - y) * (x - y)
        dp += (x + y) * (x + y)
    }
    return 2 * atan2Degrees(dm.squareRoot(), dp.squareRoot())
}
