/// A 64-bit digest of values' exact bits and shapes, for telling data apart: the data set a
/// checkpoint was trained on, the weights a crossbar was programmed with.
///
/// Not cryptographic: each 64-bit word goes through the finalizer of SplitMix64 (a
/// multiply–xorshift mix) into a running state. Equal inputs give equal digests on every
/// machine; a change of one bit or one dimension gives another digest but for a 2⁻⁶⁴ chance.
public struct Fingerprint: Sendable, Hashable {
    public private(set) var value: UInt64

    public init(_ domain: UInt64 = 0) { value = domain }

    @inline(__always)
    public mutating func combine(_ word: UInt64) {
        var z = (value ^ word) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        value = z ^ (z >> 31)
    }

    /// The shape, then every entry's bit pattern in row-major order.
    public mutating func combine(_ m: Matrix) {
        combine(UInt64(m.rows))
        combine(UInt64(m.columns))
        m.storage.withUnsafeBufferPointer { values in
            for v in values { combine(v.bitPattern) }
        }
    }

    /// Lower-case hexadecimal, as runs record it.
    public var hex: String { String(value, radix: 16) }
}

extension Matrix {
    /// `Fingerprint` of this matrix alone.
    public var fingerprint: UInt64 {
        var f = Fingerprint()
        f.combine(self)
        return f.value
    }
}
