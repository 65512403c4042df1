import CKernels
/// Vectorized elementary functions for the element-wise passes of the dynamics.
///
/// glibc's scalar `tanh` costs ~10 ns and cannot be vectorized; a controlled batch
/// of the Fashion-MNIST network evaluates ~6·10⁷ of them, more time than all its
/// matrix products. These kernels work on `SIMD8<Double>` lanes and stay within a
/// few ulp of glibc (checked in the tests against `Glibc.tanh`).
public enum VectorMath {
    public typealias Lanes = SIMD8<Double>

    /// expm1(−y) for y ≥ 0.35, where exp(−y) − 1 loses no precision.
    ///
    /// exp(−y) = 2^k·exp(r), k = round(−y/ln 2), |r| ≤ ln2/2, exp(r) by Taylor to
    /// degree 13 (truncation 4e-18).
    @inline(__always)
    static func expm1Negative(_ y: Lanes) -> Lanes {
        let x = -y
        let ln2Hi = 6.931_471_803_691_238_164_90e-01
        let ln2Lo = 1.908_214_929_270_587_700_02e-10
        // Past y = 50, exp(−y) < 2e-22 no longer changes tanh; the clamp also keeps
        // 2^k normal and the integer conversion below finite.
        let clamped = x.replacing(with: -50, where: .!(x .>= -50))
        // Round to the nearest integer by adding 1.5·2⁵² (the low mantissa bits then
        // hold k): vectorizes, where `rounded()` becomes a libm call per lane.
        let shifter = Lanes(repeating: 0x1.8p52)
        let shifted = clamped * Lanes(repeating: 1.0 / 0.693_147_180_559_945_309_417) + shifter
        let k = shifted - shifter
        let r = clamped - k * ln2Hi - k * ln2Lo
        var p = Lanes(repeating: 1.6059043836821613e-10)                                  // 1/13!
        p = Lanes(repeating: 2.08767569878681e-09).addingProduct(p, r)
        p = Lanes(repeating: 2.505210838544172e-08).addingProduct(p, r)
        p = Lanes(repeating: 2.755731922398589e-07).addingProduct(p, r)
        p = Lanes(repeating: 2.7557319223985893e-06).addingProduct(p, r)
        p = Lanes(repeating: 2.48015873015873e-05).addingProduct(p, r)
        p = Lanes(repeating: 0.0001984126984126984).addingProduct(p, r)
        p = Lanes(repeating: 0.001388888888888889).addingProduct(p, r)
        p = Lanes(repeating: 0.008333333333333333).addingProduct(p, r)
        p = Lanes(repeating: 0.041666666666666664).addingProduct(p, r)
        p = Lanes(repeating: 0.16666666666666666).addingProduct(p, r)
        p = Lanes(repeating: 0.5).addingProduct(p, r)
        p = Lanes(repeating: 1.0).addingProduct(p, r)
        p = Lanes(repeating: 1.0).addingProduct(p, r)
        let large = p * powerOfTwo(shifted) - 1
        return large
    }

    /// tanh(x) for |x| ≤ 0.175 by its Taylor series to degree 17 (relative
    /// truncation below 6e-18): x·(1 + x²·P(x²)).
    @inline(__always)
    static func tanhSmall(_ x: Lanes) -> Lanes {
        let x2 = x * x
        var p = Lanes(repeating: 0.000590027440945586)
        p = Lanes(repeating: -0.0014558343870513183).addingProduct(p, x2)
        p = Lanes(repeating: 0.003592128036572481).addingProduct(p, x2)
        p = Lanes(repeating: -0.008863235529902197).addingProduct(p, x2)
        p = Lanes(repeating: 0.021869488536155203).addingProduct(p, x2)
        p = Lanes(repeating: -0.05396825396825397).addingProduct(p, x2)
        p = Lanes(repeating: 0.13333333333333333).addingProduct(p, x2)
        p = Lanes(repeating: -0.3333333333333333).addingProduct(p, x2)
        return x.addingProduct(x * x2, p)
    }

    /// 2^k from `shifted` = k + 1.5·2⁵² (k integral, −80 ≤ k ≤ 0): the low bits of its
    /// pattern are k, which become the exponent field of the result.
    @inline(__always)
    static func powerOfTwo(_ shifted: Lanes) -> Lanes {
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt64>.self)
        let k = bits &- SIMD8<UInt64>(repeating: 0x4338_0000_0000_0000)
        return unsafeBitCast((k &+ SIMD8<UInt64>(repeating: 1023)) &<< 52, to: Lanes.self)
    }

    /// tanh on eight lanes: sign(x)·(−m)/(2 + m) with m = expm1(−2|x|) for |x| > 0.175,
    /// the Taylor series below (computed only when some lane needs it).
    @inline(__always)
    public static func tanh(_ x: Lanes) -> Lanes {
        let isNaN = x .!= x
        let magnitude = x.replacing(with: -x, where: x .< 0).replacing(with: 0, where: isNaN)
        let m = expm1Negative(2 * magnitude)
        var t = -m / (2 + m)
        t = t.replacing(with: -t, where: x .< 0)
        let small = magnitude .<= 0.175
        if any(small) { t = t.replacing(with: tanhSmall(x), where: small) }
        // NaN and ±0 pass through (the series gives +0 for −0; tanh is odd).
        return t.replacing(with: x, where: isNaN .| (x .== 0))
    }

    /// dst[k] = tanh(src[k]) for every k: the same math as `tanh(_: Lanes)`, bit for bit,
    /// run by CKernels' `dfc_tanh`, compiled once per x86-64 feature level (AVX-512 on CPUs
    /// that have it; Swift code here is built for AVX2 only).
    public static func tanh(_ src: UnsafeBufferPointer<Double>, _ dst: UnsafeMutableBufferPointer<Double>) {
        precondition(src.count == dst.count)
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        dfc_tanh(s, d, src.count)
    }

    /// The x86-64 feature level the kernels of `CKernels` (tanh, normal draws, the product
    /// kernels) run at on this CPU: 4 (AVX-512), 3 (AVX2 + FMA), 0. One detection for all of
    /// them, which happens to live in tanh.c (`dfc_tanh_level`).
    public static var kernelLevel: Int { Int(dfc_tanh_level()) }

    /// Where a fused-multiply-add product kernel of `CKernels` runs for a caller's request:
    /// the requested level capped at this CPU's, or nil (use OpenBLAS) when none was
    /// requested and the CPU has no FMA in hardware (below level 3), where the portable body
    /// would call libm's fma per lane. Tests request levels to run each body.
    static func fusedKernelLevel(requested: Int?) -> Int? {
        let cpu = kernelLevel
        guard let requested else { return cpu >= 3 ? cpu : nil }
        return min(requested, cpu)
    }

    /// The buffer tanh at a given feature level, for tests; levels above `kernelLevel` run at `kernelLevel`.
    public static func tanh(_ src: UnsafeBufferPointer<Double>, _ dst: UnsafeMutableBufferPointer<Double>, kernelLevel: Int) {
        precondition(src.count == dst.count)
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        dfc_tanh_at_level(Int32(min(kernelLevel, Self.kernelLevel)), s, d, src.count)
    }

    /// The Swift reference of the buffer kernel, eight lanes at a time (tests compare the two).
    public static func tanhReference(_ src: UnsafeBufferPointer<Double>, _ dst: UnsafeMutableBufferPointer<Double>) {
        precondition(src.count == dst.count)
        let n = src.count
        let w = Lanes.scalarCount
        var k = 0
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        while k + w <= n {
            let x = UnsafeRawPointer(s + k).loadUnaligned(as: Lanes.self)
            UnsafeMutableRawPointer(d + k).storeBytes(of: tanh(x), as: Lanes.self)
            k += w
        }
        if k < n {
            var x = Lanes()
            for i in 0..<(n - k) { x[i] = s[k + i] }
            let t = tanh(x)
            for i in 0..<(n - k) { d[k + i] = t[i] }
        }
    }
}

extension VectorMath {
    /// Σ xₖ², eight partial sums at a time (a plain `reduce` is one serial add chain).
    public static func sumOfSquares(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return 0 }
            let raw = UnsafeRawPointer(base)
            var acc = Lanes(repeating: 0)
            var k = 0
            while k + 8 <= p.count {
                let v = raw.loadUnaligned(fromByteOffset: k * 8, as: Lanes.self)
                acc += v * v
                k += 8
            }
            var s = acc.sum()
            while k < p.count { s += p[k] * p[k]; k += 1 }
            return s
        }
    }

    /// True when no element is NaN or ±∞ (x − x is 0 exactly for finite x, NaN otherwise).
    public static func allFinite(_ x: [Double]) -> Bool {
        x.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return true }
            let raw = UnsafeRawPointer(base)
            var acc = Lanes(repeating: 0)
            var k = 0
            while k + 8 <= p.count {
                let v = raw.loadUnaligned(fromByteOffset: k * 8, as: Lanes.self)
                acc += v - v
                k += 8
            }
            var s = acc.sum()
            while k < p.count { s += p[k] - p[k]; k += 1 }
            return s == 0
        }
    }
}

extension VectorMath {
    /// How many of x are not within ±bound (NaN counts as outside), eight lanes at a time:
    /// the per-step divergence check of the dynamics, where a scalar loop with a branch per
    /// element cost ≈ 5 % of a feedback pass.
    public static func countOutside(_ x: UnsafeBufferPointer<Double>, bound: Double) -> Int {
        guard let base = x.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let limit = Lanes(repeating: bound)
        var acc = SIMD8<Int64>(repeating: 0)
        var k = 0
        while k + 8 <= x.count {
            let v = raw.loadUnaligned(fromByteOffset: k * 8, as: Lanes.self)
            let magnitude = v.replacing(with: -v, where: v .< 0)
            acc &+= SIMD8<Int64>(repeating: 1).replacing(with: 0, where: magnitude .<= limit)
            k += 8
        }
        var n = Int(acc.wrappedSum())
        while k < x.count { n &+= abs(x[k]) <= bound ? 0 : 1; k += 1 }
        return n
    }
}
