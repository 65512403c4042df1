/// xoshiro256** seeded through SplitMix64: the one source of randomness in DFCSpice.
///
/// Every random draw (initial weights, Euler–Maruyama noise, device noise) comes
/// from a generator built from a seed that is written into every output, so a run
/// can be repeated bit for bit. The state is four words and can be saved and
/// restored (`state`) for exact resumption.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        self.state = state
    }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.state == b.state
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform in (0, 1): 53 random bits, never exactly 0 (safe for log).
    @inline(__always)
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// A standard normal draw by the ziggurat method (Marsaglia & Tsang 2000, in
    /// Doornik's 2005 formulation with 128 layers): one 64-bit draw and a table lookup
    /// for ~99 % of draws, where Box–Muller needs a log, a sine and a cosine — the noise
    /// of the feedback phase made those a quarter of its time.
    public mutating func nextNormal() -> Double {
        let x = Ziggurat.x, ratio = Ziggurat.ratio
        let bits = next()
        let i = Int(bits & 0x7F)
        // 53 bits above the layer index give u uniform in (−1, 1).
        let u = 2 * ((Double(bits >> 11) + 0.5) * 0x1.0p-53) - 1
        if abs(u) < ratio[i] { return u * x[i] }
        return normalOutsideRectangle(u: u, layer: i)
    }

    /// The rare rest of a draw whose (u, layer) missed the layer's rectangle: the
    /// base layer's tail, or the wedge test; a rejected draw starts over.
    private mutating func normalOutsideRectangle(u: Double, layer i: Int) -> Double {
        let x = Ziggurat.x
        if i == 0 { return tail(negative: u < 0) }
        let xi = u * x[i]
        let f0 = expDouble(-0.5 * (x[i] * x[i] - xi * xi))
        let f1 = expDouble(-0.5 * (x[i + 1] * x[i + 1] - xi * xi))
        if f1 + nextOpenUnit() * (f0 - f1) < 1 { return xi }
        return nextNormal()
    }

    /// The tail beyond R of the base layer (Marsaglia 1964).
    private mutating func tail(negative: Bool) -> Double {
        let r = Ziggurat.r
        while true {
            let x = logDouble(nextOpenUnit()) / r
            let y = logDouble(nextOpenUnit())
            if -2 * y >= x * x { return negative ? x - r : r - x }
        }
    }

    /// Fills `buffer` with scale·N(0, 1) draws: the same stream as repeated `nextNormal()`,
    /// with the rectangle test on raw table pointers and the state in registers (the
    /// feedback phase draws millions of these per batch).
    public mutating func fillNormal(_ buffer: inout [Double], scale: Double = 1) {
        var g = self
        Ziggurat.x.withUnsafeBufferPointer { xs in
            Ziggurat.ratio.withUnsafeBufferPointer { rs in
                buffer.withUnsafeMutableBufferPointer { out in
                    for k in out.indices {
                        let bits = g.next()
                        let i = Int(bits & 0x7F)
                        let u = 2 * ((Double(bits >> 11) + 0.5) * 0x1.0p-53) - 1
                        if abs(u) < rs[i] {
                            out[k] = scale * (u * xs[i])
                        } else {
                            out[k] = scale * g.normalOutsideRectangle(u: u, layer: i)
                        }
                    }
                }
            }
        }
        self = g
    }

    /// Derives an independent generator for a named purpose, so adding draws in one
    /// place does not shift the stream of another.
    public func derived(_ stream: UInt64) -> SeededGenerator {
        SeededGenerator(seed: state.0 ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ Self.rotl(state.2, 29))
    }
}

extension Matrix {
    /// Entries drawn i.i.d. from N(0, std²).
    public static func gaussian(rows: Int, columns: Int, std: Double, using g: inout SeededGenerator) -> Matrix {
        var m = Matrix(rows: rows, columns: columns)
        g.fillNormal(&m.storage, scale: std)
        return m
    }
}

/// The 128-layer ziggurat of the standard normal density, built once.
enum Ziggurat {
    static let r = 3.442619855899
    static let v = 9.91256303526217e-3
    /// Layer edges x_0 … x_128 (x_0 = V/f(R) is the base layer's pseudo-edge, x_128 = 0).
    static let x: [Double] = {
        var x = [Double](repeating: 0, count: 129)
        var f = expDouble(-0.5 * r * r)
        x[0] = v / f
        x[1] = r
        for i in 2..<128 {
            x[i] = (-2 * logDouble(v / x[i - 1] + f)).squareRoot()
            f = expDouble(-0.5 * x[i] * x[i])
        }
        x[128] = 0
        return x
    }()
    /// x_{i+1}/x_i: below it a draw lies inside layer i's rectangle.
    static let ratio: [Double] = (0..<128).map { x[$0 + 1] / x[$0] }
}
