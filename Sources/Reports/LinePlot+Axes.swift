import Foundation

/// Tick positions and labels: nice linear steps, and logarithmic axes that always carry
/// enough labels to read a value off (decades, then 1-2-5 within them, then linear steps).
extension LinePlot {
    /// An axis in drawing coordinates: `value` maps data to the axis (log10 on a log axis);
    /// `ticks` are positions in that coordinate, with their labels.
    struct Axis {
        var log: Bool
        var floor: Double
        func value(_ x: Double) -> Double { log ? log10(Swift.max(x, floor)) : x }
    }

    /// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 × 10^k.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var t = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// Ticks of a log axis spanning log10 values [lo, hi], as (log10 position, label).
    /// At least `minimum` labels: whole decades when the axis spans enough of them, else
    /// 1, 2 and 5 in each decade, else nice linear steps of the values themselves.
    static func logTicks(_ lo: Double, _ hi: Double, minimum: Int = 3) -> [(Double, String)] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [(lo, label(pow(10, lo)))] }
        let first = Int(lo.rounded(.up)), last = Int(hi.rounded(.down))
        let decades = first <= last ? Array(first...last) : []
        if decades.count >= minimum {
            // Thin to at most 8 labels: every k-th decade.
            let stride = Swift.max(1, (decades.count + 7) / 8)
            return decades.filter { ($0 - first) % stride == 0 }.map { (Double($0), "1e\($0)") }
        }
        var sub: [(Double, String)] = []
        for d in (Int(lo.rounded(.down)))...(Int(hi.rounded(.up))) {
            for m in [1.0, 2, 5] {
                let v = m * pow(10, Double(d)), p = log10(v)
                if p >= lo - 1e-12 && p <= hi + 1e-12 { sub.append((p, label(v))) }
            }
        }
        if sub.count >= minimum { return sub }
        for count in [6, 10] {
            let linear = ticks(pow(10, lo), pow(10, hi), count: count).filter { $0 > 0 }
            if linear.count >= minimum || count == 10 { return linear.map { (log10($0), label($0)) } }
        }
        return []
    }

    /// A tick label: plain below 10⁵ and above 10⁻³, else `2e-5`.
    public static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 {
            // 2e-05 reads as "2e-5"; one decimal only where it says something.
            let mantissa = v / pow(10, floor(log10(a)))
            let exponent = Int(floor(log10(a)))
            let m = abs(mantissa - mantissa.rounded()) < 0.05 ? String(format: "%.0f", mantissa) : String(format: "%.1f", mantissa)
            return "\(m)e\(exponent)"
        }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }
}
