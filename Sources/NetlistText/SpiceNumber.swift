/// Numbers as SPICE writes them: a mantissa and an optional scale suffix.
public enum SpiceNumber {
    /// A SPICE number with its scale suffix (1k, 2.5meg, 10u, 3p; units after it ignored), or
    /// nil. `m` is milli and `meg` mega, as in every SPICE.
    public static func value<S: StringProtocol>(of text: S) -> Double? {
        let t = text.lowercased()
        let numeric = t.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" }
        // "1e" or "2meg": back off an 'e' that starts a suffix rather than an exponent.
        var mantissa = String(numeric)
        while !mantissa.isEmpty, Double(mantissa) == nil { mantissa.removeLast() }
        guard let value = Double(mantissa) else { return nil }
        let suffix = t.dropFirst(mantissa.count)
        let scales: [(String, Double)] = [("meg", 1e6), ("mil", 25.4e-6), ("t", 1e12), ("g", 1e9), ("k", 1e3), ("m", 1e-3),
                                          ("u", 1e-6), ("n", 1e-9), ("p", 1e-12), ("f", 1e-15)]
        for (s, scale) in scales where suffix.hasPrefix(s) { return value * scale }
        return value
    }
}
