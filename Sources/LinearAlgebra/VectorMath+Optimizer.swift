import CKernels

/// The element-wise steps of the host optimizers. A `bp` step on the Fashion-MNIST
/// network moves 3.3·10⁵ parameters through four arrays, which is memory traffic, not
/// arithmetic; so each step here is one pass over its arrays, split into slabs across
/// the cores, writes the new parameters into a fresh array (the old one is usually still
/// shared with the network, and updating it in place would first copy it), and reports
/// finiteness on the way instead of in another pass.
extension VectorMath {
    /// Values per slab below which a step stays on one core: under it the dispatch costs
    /// more than the second core's bandwidth brings.
    static let optimizerSlab = 32_768

    /// Replaces `p` by a fresh array that `body(new, old, range)` fills slab by slab, on
    /// every core when `p` is large; returns whether every call returned true (its values
    /// are finite). Elements are independent, so the split never changes a result.
    static func stepIntoFresh(_ p: inout [Double],
                              _ body: (UnsafeMutableBufferPointer<Double>, UnsafeBufferPointer<Double>, Range<Int>) -> Bool) -> Bool {
        let n = p.count
        guard n > 0 else { return true }
        let parts = n >= 2 * optimizerSlab ? Parallel.workers : 1
        var ok = [Bool](repeating: true, count: parts)
        let fresh = [Double](unsafeUninitializedCapacity: n) { out, initialized in
            p.withUnsafeBufferPointer { old in
                ok.withUnsafeMutableBufferPointer { flags in
                    Parallel.forEachSlab(of: n, parts: parts) { s, range in flags[s] = body(out, old, range) }
                }
            }
            initialized = n
        }
        p = fresh
        return !ok.contains(false)
    }

    /// One Adam step on a flat tensor, four lanes at a time: g = −s·Δ (s: the clipping
    /// scale), m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η̂·m/(√(v·k₂) + ε) with
    /// η̂ = `rate` (η/c₁) and k₂ = `secondScale` (1/c₂). Returns whether every new θ is finite.
    /// The kernel is C (CKernels): Swift's square root keeps C's errno path, a libm call
    /// per lane that blocks vectorization; this step was a tenth of a `bp` epoch.
    @discardableResult
    public static func adamStep(_ p: inout [Double], m: inout [Double], v: inout [Double], descent d: [Double],
                                clipScale: Double, rate: Double, secondScale: Double,
                                beta1 b1: Double, beta2 b2: Double, epsilon eps: Double) -> Bool {
        precondition(p.count == d.count && m.count == d.count && v.count == d.count)
        return m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                d.withUnsafeBufferPointer { g in
                    stepIntoFresh(&p) { out, old, r in
                        // r is not empty, so every buffer has a base address.
                        guard let o = out.baseAddress, let p = old.baseAddress, let m = m.baseAddress,
                              let v = v.baseAddress, let g = g.baseAddress else { return false }
                        let k = r.lowerBound
                        return dfc_adam_step(o + k, p + k, m + k, v + k, g + k, r.count,
                                             clipScale, rate, secondScale, b1, b2, eps) != 0
                    }
                }
            }
        }
    }

    /// One gradient-descent step along a descent direction: θ ← θ + η·Δ, into a fresh
    /// array like `adamStep`. Returns whether every new θ is finite.
    @discardableResult
    public static func descentStep(_ p: inout [Double], direction d: [Double], rate: Double) -> Bool {
        precondition(p.count == d.count)
        return d.withUnsafeBufferPointer { d in
            stepIntoFresh(&p) { out, old, r in
                var check = 0.0
                for k in r {
                    let x = old[k] + rate * d[k]
                    out[k] = x
                    check += x - x
                }
                return check == 0
            }
        }
    }
}
