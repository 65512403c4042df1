import CKernels

/// Gaussian noise for the hot loops: eight xoshiro256** streams side by side, each an
/// exact `SeededGenerator` stream (lane l starts as `generator.derived(l)`) feeding the
/// same 128-layer ziggurat as `nextNormal()`.
///
/// One scalar stream is a serial chain of shifts and xors per draw; eight in vector lanes
/// cost about what one does, and the rectangle test of ~99 % of draws becomes one vector
/// compare (the rest take the scalar wedge/tail path on their own lane). The values differ
/// from `SeededGenerator.fillNormal`'s, so this is a stream of its own, used where the
/// Euler–Maruyama noise is drawn; within it, results are identical on every CPU level
/// (a test checks the levels against each other).
public struct NormalLanes: Sendable {
    /// Word j of lane l at `state[8j + l]`.
    public private(set) var state: [UInt64]

    public init(generator: SeededGenerator) {
        var words = [UInt64](repeating: 0, count: 32)
        for l in 0..<8 {
            let s = generator.derived(UInt64(l)).state
            words[l] = s.0
            words[8 + l] = s.1
            words[16 + l] = s.2
            words[24 + l] = s.3
        }
        state = words
    }

    /// buffer[k] = scale·z_k, or buffer[k] += scale·z_k when `add`, z_k ~ N(0, 1) i.i.d.
    public mutating func fill(_ buffer: UnsafeMutableBufferPointer<Double>, scale: Double = 1, add: Bool = false,
                              kernelLevel: Int = VectorMath.kernelLevel) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let level = Int32(min(kernelLevel, VectorMath.kernelLevel))
        state.withUnsafeMutableBufferPointer { s in
            Ziggurat.x.withUnsafeBufferPointer { xs in
                Ziggurat.ratio.withUnsafeBufferPointer { rs in
                    dfc_normal_at_level(level, s.baseAddress, base, buffer.count, scale, add ? 1 : 0,
                                        xs.baseAddress, rs.baseAddress, Ziggurat.r)
                }
            }
        }
    }

    /// One Euler–Maruyama step with this noise, fused into one pass over `x`:
    ///
    ///     x[k] ← (x[k] + gain·(drive[k] − x[k])) + scale·z_k     (drive given: a leaky compartment)
    ///     x[k] ← x[k] + scale·z_k                                  (drive nil: `fill(add: true)`)
    ///
    /// with the draws `fill` makes, and the bits of the unfused Euler step followed by `fill`.
    /// Returns how many results are not within ±`bound` (NaN counts), so that a divergence
    /// test need not read `x` again.
    public mutating func step(_ x: UnsafeMutableBufferPointer<Double>, drive: UnsafeBufferPointer<Double>? = nil,
                              gain: Double = 0, scale: Double, bound: Double,
                              kernelLevel: Int = VectorMath.kernelLevel) -> Int {
        guard let base = x.baseAddress, x.count > 0 else { return 0 }
        precondition(drive == nil || drive?.count == x.count, "step: drive has \(drive?.count ?? 0) values, x \(x.count)")
        let level = Int32(min(kernelLevel, VectorMath.kernelLevel))
        return state.withUnsafeMutableBufferPointer { s in
            Ziggurat.x.withUnsafeBufferPointer { xs in
                Ziggurat.ratio.withUnsafeBufferPointer { rs in
                    Int(dfc_normal_step_at_level(level, s.baseAddress, base, x.count, scale, drive?.baseAddress, gain,
                                                 bound, xs.baseAddress, rs.baseAddress, Ziggurat.r))
                }
            }
        }
    }

    /// `fill` into an array.
    public mutating func fill(_ buffer: inout [Double], scale: Double = 1, add: Bool = false,
                              kernelLevel: Int = VectorMath.kernelLevel) {
        buffer.withUnsafeMutableBufferPointer { fill($0, scale: scale, add: add, kernelLevel: kernelLevel) }
    }
}
