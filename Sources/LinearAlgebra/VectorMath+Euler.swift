import CKernels

extension VectorMath {
    /// What `eulerStep` counts, besides writing x.
    public struct Census: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// The new x.
        public static let result = Census(rawValue: 1)
        /// The second input b.
        public static let input = Census(rawValue: 2)
    }

    /// The leaky integrator's Euler step, in place:
    ///
    ///     x[k] += gain·((a[k] + b[k]) − x[k])      (b nil: x[k] += gain·(a[k] − x[k]))
    ///
    /// with the bits of that scalar loop at every feature level (`CKernels/euler.c`).
    /// Returns how many of the values `census` names are not within ±`bound` (NaN counts):
    /// counted while they are in registers, so that a divergence test need not read them again.
    @discardableResult
    public static func eulerStep(_ x: UnsafeMutableBufferPointer<Double>, _ a: UnsafeBufferPointer<Double>,
                                 _ b: UnsafeBufferPointer<Double>?, gain: Double, census: Census = [],
                                 bound: Double = .infinity, kernelLevel: Int = VectorMath.kernelLevel) -> Int {
        precondition(a.count == x.count && (b == nil || b?.count == x.count),
                     "eulerStep: x has \(x.count) values, a \(a.count), b \(b?.count ?? x.count)")
        guard let px = x.baseAddress, let pa = a.baseAddress else { return 0 }
        return Int(dfc_euler_at_level(Int32(min(kernelLevel, Self.kernelLevel)), px, pa, b?.baseAddress, x.count, gain,
                                      census.rawValue, bound))
    }
}
