import LinearAlgebra

/// A nonlinearity φ known by samples, as a DC sweep of a circuit measures it: r = φ(v) by
/// linear interpolation on a uniform grid of v, constant beyond its ends (a circuit's rails).
///
/// The ideal solver can run with it in place of the equation (`Network.transferCurves`), so a
/// comparison with the circuit separates the nonlinearity's shape from the dynamics.
public struct TransferCurve: Sendable, Equatable {
    /// First grid point and spacing, model units.
    public var start: Double
    public var step: Double
    /// φ at start + k·step.
    public var values: [Double]

    public init(start: Double, step: Double, values: [Double]) throws {
        guard start.isFinite, step.isFinite, step > 0, values.count >= 2, values.allSatisfy(\.isFinite) else {
            throw ModelError("a transfer curve needs a finite start, a positive step and at least two finite values")
        }
        self.start = start
        self.step = step
        self.values = values
    }

    /// φ(v) by linear interpolation.
    @inlinable
    public func callAsFunction(_ v: Double) -> Double {
        let x = (v - start) / step
        guard x > 0 else { return values[0] }
        let last = values.count - 1
        guard x < Double(last) else { return values[last] }
        let k = Int(x)
        let f = x - Double(k)
        return values[k] + f * (values[k + 1] - values[k])
    }

    /// The slope of the interpolant at v (0 beyond the ends).
    public func derivative(_ v: Double) -> Double {
        let x = (v - start) / step
        let last = values.count - 1
        guard x > 0, x < Double(last) else { return 0 }
        let k = min(Int(x), last - 1)
        return (values[k + 1] - values[k]) / step
    }

    /// The largest |φ(v) − f(v)| on the grid.
    public func largestDeparture(from f: (Double) -> Double) -> Double {
        values.indices.map { abs(values[$0] - f(start + Double($0) * step)) }.max() ?? 0
    }
}

extension Network {
    /// φ_i applied to every element of `v`: the layer's measured transfer curve if it has one,
    /// else its activation.
    @inlinable
    public func phi(_ i: Int, _ v: Matrix, into out: inout Matrix) {
        guard let curve = transferCurves[i] else { return activations[i].apply(v, into: &out) }
        precondition(v.count == out.count)
        for k in 0..<v.storage.count { out.storage[k] = curve(v.storage[k]) }
    }

    public func phi(_ i: Int, _ v: Matrix) -> Matrix {
        var out = v
        phi(i, v, into: &out)
        return out
    }
}
