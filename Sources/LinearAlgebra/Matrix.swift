import Foundation

/// A dense, row-major matrix of `Double`.
///
/// Element (i, j) lives at `storage[i * columns + j]`, which is the layout
/// cblas and LAPACKE are called with (`CblasRowMajor`, `LAPACK_ROW_MAJOR`), and
/// the layout NumPy writes for a C-ordered float64 array — so a model can go
/// from `.npz` into BLAS without a transpose or a copy.
///
/// A column vector is an n×1 matrix; a batch of samples is batch×n (one row per
/// sample), which is how the DFC model stores states such as `v_i`.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Row-major elements, `rows * columns` of them.
    public var storage: [Double]

    /// A matrix filled with `value`.
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.storage = [Double](repeating: value, count: rows * columns)
    }

    /// Wraps row-major `storage`; returns nil when the count does not match.
    public init?(rows: Int, columns: Int, storage: [Double]) {
        guard rows >= 0, columns >= 0, storage.count == rows * columns else { return nil }
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// Builds a matrix from nested rows; returns nil for ragged input.
    public init?(_ nested: [[Double]]) {
        let columns = nested.first?.count ?? 0
        guard nested.allSatisfy({ $0.count == columns }) else { return nil }
        self.rows = nested.count
        self.columns = columns
        self.storage = nested.flatMap { $0 }
    }

    /// Builds a matrix element by element.
    public init(rows: Int, columns: Int, _ element: (Int, Int) -> Double) {
        self.init(rows: rows, columns: columns)
        for i in 0..<rows {
            for j in 0..<columns { storage[i * columns + j] = element(i, j) }
        }
    }

    /// The n×n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }

    /// A column vector (n×1).
    public init(column: [Double]) {
        self.rows = column.count
        self.columns = 1
        self.storage = column
    }

    /// A row vector (1×n).
    public init(row: [Double]) {
        self.rows = 1
        self.columns = row.count
        self.storage = row
    }

    public var shape: (rows: Int, columns: Int) { (rows, columns) }
    public var count: Int { storage.count }
    public var isSquare: Bool { rows == columns }

    @inlinable
    public subscript(i: Int, j: Int) -> Double {
        get { storage[i * columns + j] }
        set { storage[i * columns + j] = newValue }
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Double] {
        Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// Column `j` as an array.
    public func column(_ j: Int) -> [Double] {
        (0..<rows).map { storage[$0 * columns + j] }
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, columns: columns,
               storage: Array(storage[(range.lowerBound * columns)..<(range.upperBound * columns)]))!
    }

    /// The rows at `indices`, in that order, as a new matrix (a mini-batch gather).
    public func rows(at indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, columns: columns)
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "row \(i) out of 0..<\(rows)")
                    guard let from = src.baseAddress, let to = dst.baseAddress else { return }
                    (to + k * columns).update(from: from + i * columns, count: columns)
                }
            }
        }
        return out
    }

    /// Columns `range` as a new matrix.
    public func columns(_ range: Range<Int>) -> Matrix {
        var out = Matrix(rows: rows, columns: range.count)
        for i in 0..<rows {
            out.storage.replaceSubrange((i * range.count)..<((i + 1) * range.count),
                                        with: storage[(i * columns + range.lowerBound)..<(i * columns + range.upperBound)])
        }
        return out
    }

    /// Stacks matrices with equal column counts on top of each other.
    public static func vstack(_ parts: [Matrix]) -> Matrix {
        let columns = parts.first?.columns ?? 0
        precondition(parts.allSatisfy { $0.columns == columns }, "vstack needs equal column counts")
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: columns,
                      storage: parts.flatMap(\.storage))!
    }

    /// Places matrices with equal row counts side by side.
    public static func hstack(_ parts: [Matrix]) -> Matrix {
        let rows = parts.first?.rows ?? 0
        precondition(parts.allSatisfy { $0.rows == rows }, "hstack needs equal row counts")
        var out = Matrix(rows: rows, columns: parts.reduce(0) { $0 + $1.columns })
        var offset = 0
        for p in parts {
            for i in 0..<rows {
                for j in 0..<p.columns { out.storage[i * out.columns + offset + j] = p.storage[i * p.columns + j] }
            }
            offset += p.columns
        }
        return out
    }

    /// True when every element is finite (no NaN or ±Inf).
    public var isFinite: Bool { VectorMath.allFinite(storage) }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let body = (0..<rows).map { i in
            "[" + row(i).map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]"
        }
        return "Matrix(\(rows)×\(columns))[" + body.joined(separator: ",\n  ") + "]"
    }
}
