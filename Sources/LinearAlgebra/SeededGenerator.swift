/// xoshiro256** seeded through SplitMix64: the one source of randomness in DFCSpice.
///
/// Every random draw (initial weights, Euler–Maruyama noise, device noise) comes
/// from a generator built from a seed that is written into every output, so a run
/// can be repeated bit for bit. The state is four words and can be saved and
/// restored (`state`) for exact resumption.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second standard normal from the last Box–Muller pair, if unused.
    private var spareNormal: Double?

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
        a.state == b.state && a.spareNormal == b.spareNormal
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

    /// A standard normal draw (Box–Muller, both values used).
    public mutating func nextNormal() -> Double {
        if let s = spareNormal {
            spareNormal = nil
            return s
        }
        let u1 = nextOpenUnit(), u2 = nextOpenUnit()
        let radius = (-2 * logDouble(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * sinDouble(angle)
        return radius * cosDouble(angle)
    }

    /// Fills `buffer` with standard normal draws.
    public mutating func fillNormal(_ buffer: inout [Double], scale: Double = 1) {
        for k in buffer.indices { buffer[k] = scale * nextNormal() }
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
