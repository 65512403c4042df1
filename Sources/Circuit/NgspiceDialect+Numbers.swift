import Foundation
import NetlistText

extension NgspiceDialect {
    /// SPICE's scale suffixes, by power of a thousand (`m` is milli: mega is `meg`).
    static let suffixes: [(exponent: Int, suffix: String)] = [
        (-15, "f"), (-12, "p"), (-9, "n"), (-6, "u"), (-3, "m"), (0, ""), (3, "k"), (6, "meg"), (9, "g"), (12, "t"),
    ]

    /// `x` in engineering notation with at most 9 significant digits and no trailing zeros:
    /// 100003.0000600012 → `100.003k`, 1e-05 → `10u`, 0.5 → `500m`, -2.2e-9 → `-2.2n`.
    /// Nine digits keep every value within 5·10⁻⁹ relative of the double (a finite-gain trim
    /// of 10⁻⁵ keeps four of its digits); magnitudes outside 1f…999t use `e` notation.
    public static func engineering(_ x: Double) -> String {
        guard x.isFinite, x != 0 else { return x == 0 ? "0" : "\(x)" }
        let magnitude = abs(x)
        var exponent = Int((log10(magnitude) / 3).rounded(.down)) * 3
        var mantissa = magnitude / pow(10, Double(exponent))
        // Rounding to nine digits may carry into the next power of a thousand (999.9999999996k).
        if Double(String(format: "%.9g", mantissa)) ?? mantissa >= 1000 {
            exponent += 3
            mantissa = magnitude / pow(10, Double(exponent))
        }
        guard let suffix = suffixes.first(where: { $0.exponent == exponent })?.suffix else {
            return String(format: "%.9g", x)
        }
        return (x < 0 ? "-" : "") + String(format: "%.9g", mantissa) + suffix
    }

    /// Reads a SPICE number with an optional scale suffix (`100.003k`, `1meg`, `2.5e-3`, `10uF`);
    /// nil if it is none. Letters after the suffix are units and ignored, as SPICE does.
    public static func value(of text: some StringProtocol) -> Double? { SpiceNumber.value(of: text) }
}
