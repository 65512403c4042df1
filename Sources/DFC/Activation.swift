import LinearAlgebra
#if canImport(Glibc)
import Glibc
#endif

/// A neuron nonlinearity φ, applied element-wise: r = φ(v).
public enum Activation: String, Sendable, CaseIterable, Codable {
    case tanh, linear, relu, sigmoid

    /// φ(x).
    @inlinable
    public func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .tanh: Glibc.tanh(x)
        case .linear: x
        case .relu: x > 0 ? x : 0
        case .sigmoid: 1 / (1 + exp(-x))
        }
    }

    /// φ'(x). For ReLU the derivative at 0 is taken as 0.
    @inlinable
    public func derivative(_ x: Double) -> Double {
        switch self {
        case .tanh:
            let t = Glibc.tanh(x)
            return 1 - t * t
        case .linear: return 1
        case .relu: return x > 0 ? 1 : 0
        case .sigmoid:
            let s = 1 / (1 + exp(-x))
            return s * (1 - s)
        }
    }

    /// φ applied to every element, written into `out` (same shape as `v`).
    @inlinable
    public func apply(_ v: Matrix, into out: inout Matrix) {
        precondition(v.count == out.count)
        if self == .linear {
            out.storage = v.storage
            return
        }
        v.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                switch self {
                case .tanh: VectorMath.tanh(src, dst)
                case .relu: for k in src.indices { dst[k] = src[k] > 0 ? src[k] : 0 }
                case .sigmoid: for k in src.indices { dst[k] = 1 / (1 + exp(-src[k])) }
                case .linear: break
                }
            }
        }
    }

    /// φ(V) as a new matrix.
    public func apply(_ v: Matrix) -> Matrix {
        var out = v
        apply(v, into: &out)
        return out
    }

    /// φ′(v) when r = φ(v) is already known (the feedforward pass keeps it): for tanh
    /// 1 − r², without evaluating tanh again; the other activations from v. The same values
    /// as `derivative(v)` when r came from `apply(v)`.
    public func derivative(_ v: Matrix, rates r: Matrix) -> Matrix {
        precondition(v.rows == r.rows && v.columns == r.columns, "derivative: rates are \(r.rows)×\(r.columns), potentials \(v.rows)×\(v.columns)")
        guard self == .tanh else { return derivative(v) }
        var t = r
        t.storage.withUnsafeMutableBufferPointer { p in
            for k in p.indices { p[k] = 1 - p[k] * p[k] }
        }
        return t
    }

    /// φ'(V) as a new matrix.
    public func derivative(_ v: Matrix) -> Matrix {
        guard self == .tanh else { return v.map { derivative($0) } }
        // 1 − tanh² with the vectorized tanh (glibc's scalar tanh was 6 % of a `bp` epoch).
        return derivative(v, rates: apply(v))
    }
}
