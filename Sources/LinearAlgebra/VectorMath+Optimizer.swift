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

    /// Runs `body(range)` over `0..<n` in slabs (multiples of 8 values), on every core when
    /// `n` is large; returns whether every call returned true. Elements are independent,
    /// so the split never changes a result.
    static func slabs(_ n: Int, _ body: (Range<Int>) -> Bool) -> Bool {
        let parts = n >= 2 * optimizerSlab ? Parallel.workers : 1
        let block = ((n + parts - 1) / parts + 7) / 8 * 8
        let count = max(1, (n + block - 1) / max(block, 1))
        var ok = [Bool](repeating: true, count: count)
        ok.withUnsafeMutableBufferPointer { flags in
            Parallel.forEach(count) { s in
                flags[s] = body(s * block..<min(n, (s + 1) * block))
            }
        }
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
        let n = d.count
        precondition(p.count == n && m.count == n && v.count == n)
        guard n > 0 else { return true }
        var finite = true
        let fresh = [Double](unsafeUninitializedCapacity: n) { out, initialized in
            p.withUnsafeBufferPointer { old in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        d.withUnsafeBufferPointer { g in
                            // n > 0, so every buffer has a base address.
                            guard let o = out.baseAddress, let p = old.baseAddress, let m = m.baseAddress,
                                  let v = v.baseAddress, let g = g.baseAddress else { finite = false; return }
                            finite = slabs(n) { r in
                                let k = r.lowerBound
                                return dfc_adam_step(o + k, p + k, m + k, v + k, g + k, r.count,
                                                     clipScale, rate, secondScale, b1, b2, eps) != 0
                            }
                        }
                    }
                }
            }
            initialized = n
        }
        p = fresh
        return finite
    }

    /// One gradient-descent step along a descent direction: θ ← θ + η·Δ, into a fresh
    /// array like `adamStep`. Returns whether every new θ is finite.
    @discardableResult
    public static func descentStep(_ p: inout [Double], direction d: [Double], rate: Double) -> Bool {
        let n = d.count
        precondition(p.count == n)
        guard n > 0 else { return true }
        var finite = true
        let fresh = [Double](unsafeUninitializedCapacity: n) { out, initialized in
            p.withUnsafeBufferPointer { old in
                d.withUnsafeBufferPointer { d in
                    finite = slabs(n) { r in
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
            initialized = n
        }
        p = fresh
        return finite
    }
}
