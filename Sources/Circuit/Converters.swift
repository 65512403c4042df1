/// Data converters at the array periphery (behavioral quantizers: an ideal mid-tread
/// quantizer with clipping, no timing, no INL/DNL). A converter with `bits` b over `range` R
/// (model units) has the 2^b − 1 levels k·q, |k| ≤ 2^(b−1) − 1, q = R/(2^(b−1) − 1), so 0 is
/// a level and ±R are the extremes; values beyond ±R clip.
public struct Quantizer: Sendable, Equatable {
    public var bits: Int
    public var range: Double

    public init(bits: Int, range: Double) {
        self.bits = bits
        self.range = range
    }

    /// The step q, model units.
    public var step: Double { range / Double((1 << (bits - 1)) - 1) }

    public func callAsFunction(_ x: Double) -> Double {
        let q = step
        return min(range, max(-range, (x / q).rounded() * q))
    }

    /// Width of each code transition in the circuit, as a fraction of a step: a staircase whose
    /// risers are vertical stops ngspice's Newton iteration ("timestep too small" at the first
    /// code change); a riser 2 % of a step wide is continuous and leaves the codes exact elsewhere.
    public static let transitionWidth = 0.02

    /// The quantizer as the netlist builds it, in model units: the staircase with risers
    /// `transitionWidth` of a step wide, y = x/q, q·(⌊y⌋ + clamp((y − ⌊y⌋ − ½)/w + ½, 0, 1)),
    /// clipped at ±range. In a continuous loop (the controller's ADC and DAC) a loop can rest
    /// on a riser where a vertical step would make it chatter.
    public func continuous(_ x: Double) -> Double {
        let q = step, y = x / q
        let fl = y.rounded(.down)
        let riser = min(max((y - fl - 0.5) / Self.transitionWidth + 0.5, 0), 1)
        return min(range, max(-range, q * (fl + riser)))
    }

    /// The quantizer in volts as an ngspice expression of `node` at signal scale `s`:
    /// y = V/q, out = q·(⌊y⌋ + clamp((y − ⌊y⌋ − ½)/w + ½, 0, 1)), clipped at ±s·R.
    public func expression(of node: SpiceName, signalScale s: Double) -> String {
        let n = NgspiceDialect.number
        let q = n(s * step), r = n(s * range), w = n(Self.transitionWidth)
        let y = "V(\(node))/\(q)"
        return "max(min(\(q)*(floor(\(y))+min(max((\(y)-floor(\(y))-0.5)/\(w)+0.5, 0), 1)), \(r)), -\(r))"
    }

    /// The first problem with the values, or nil.
    func problem(_ key: String) -> InvalidElementError? {
        guard (2...24).contains(bits) else { return InvalidElementError(element: "\(key).bits", reason: "must be 2…24, got \(bits)") }
        guard range.isFinite, range > 0 else { return InvalidElementError(element: "\(key).range", reason: "must be positive and finite, got \(range)") }
        return nil
    }
}

/// The converters of a DFC circuit: the input DACs that drive the first crossbar's lines, the
/// ADC through which the controller reads r_L, and the DAC that writes u onto the Q crossbars.
public struct Converters: Sendable, Equatable {
    public var input: Quantizer?
    public var read: Quantizer?
    public var write: Quantizer?

    public init(input: Quantizer? = nil, read: Quantizer? = nil, write: Quantizer? = nil) {
        self.input = input
        self.read = read
        self.write = write
    }

    public var isEmpty: Bool { input == nil && read == nil && write == nil }

    public func validate() throws {
        for (key, q) in [("input", input), ("read", read), ("write", write)] {
            if let q, let problem = q.problem("circuit.converters.\(key)") { throw problem }
        }
    }

    public var summary: String {
        guard !isEmpty else { return "off (exact voltages)" }
        return [("input DAC", input), ("r_L ADC", read), ("u DAC", write)].compactMap { name, q in
            q.map { "\(name) \($0.bits) bits over +/-\($0.range)" }
        }.joined(separator: ", ")
    }
}
