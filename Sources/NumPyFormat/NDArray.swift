import LinearAlgebra

/// An n-dimensional float64 array as NumPy sees it: a C-ordered buffer and a shape.
///
/// Everything DFCSpice reads from or writes to `.npy`/`.npz` passes through this
/// type; float32 arrays are widened to `Double` on read. Integer arrays (counts, seeds,
/// status codes) keep their exact values in `integers` and are written as int64, so NumPy
/// reads `int64` and a seed above 2⁵³ survives; `data` is their `Double` view.
public struct NDArray: Sendable, Equatable {
    public var shape: [Int]
    /// C-ordered (row-major) elements; `shape.reduce(1, *)` of them.
    public var data: [Double] {
        // Changed values are floats again: the integers no longer describe them.
        didSet { integers = nil }
    }
    /// The exact elements of an integer array, C-ordered; nil for a float array.
    public private(set) var integers: [Int64]?

    public init(shape: [Int], data: [Double]) {
        precondition(shape.reduce(1, *) == data.count, "NDArray shape \(shape) does not hold \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    public init(_ matrix: Matrix) {
        self.init(shape: [matrix.rows, matrix.columns], data: matrix.storage)
    }

    public init(vector: [Double]) {
        self.init(shape: [vector.count], data: vector)
    }

    public init(scalar: Double) {
        self.init(shape: [], data: [scalar])
    }

    /// An int64 array (written as `<i8`); a vector unless `shape` says otherwise.
    public init(integers: [Int64], shape: [Int]? = nil) {
        let shape = shape ?? [integers.count]
        precondition(shape.reduce(1, *) == integers.count, "NDArray shape \(shape) does not hold \(integers.count) elements")
        self.shape = shape
        self.data = integers.map(Double.init)
        self.integers = integers
    }

    /// An int64 scalar: a count, a seed (seeds are at most `Int64.max`, as configs allow).
    public init(integer: Int64) {
        self.init(integers: [integer], shape: [])
    }

    /// A seed or count stored in the array's first element, exactly if it was written as an integer.
    public var firstInteger: Int64? {
        if let integers { return integers.first }
        return data.first.flatMap { Int64(exactly: $0) }
    }

    /// The array as a matrix: 2-D as is, 1-D as a single row. Nil for other ranks.
    public var matrix: Matrix? {
        switch shape.count {
        case 2: Matrix(rows: shape[0], columns: shape[1], storage: data)
        case 1: Matrix(rows: 1, columns: shape[0], storage: data)
        default: nil
        }
    }

    public var shapeDescription: String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }
}
