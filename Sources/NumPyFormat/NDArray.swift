import LinearAlgebra

/// An n-dimensional float64 array as NumPy sees it: a C-ordered buffer and a shape.
///
/// Everything DFCSpice reads from or writes to `.npy`/`.npz` passes through this
/// type; integer and float32 arrays are widened to `Double` on read.
public struct NDArray: Sendable, Equatable {
    public var shape: [Int]
    /// C-ordered (row-major) elements; `shape.reduce(1, *)` of them.
    public var data: [Double]

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
