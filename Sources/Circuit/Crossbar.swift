import LinearAlgebra

/// A crossbar array of differential conductance pairs.
///
/// Row r sums the currents of its cells into `rows[r]` (a virtual ground); column c
/// is driven by the line pair `plusLines[c]` (+s·x_c) and `minusLines[c]` (−s·x_c).
/// The pair (G⁺, G⁻) contributes (G⁺ − G⁻)·s·x_c, i.e. the weight w = (G⁺ − G⁻)/G_unit.
/// Resistors are named `<prefix>_r<row>_c<column>p` / `…n`; a zero conductance is an
/// open cell and is not written.
public struct Crossbar: Sendable {
    public var prefix: String
    public var rows: [SpiceName]
    public var plusLines: [SpiceName]
    public var minusLines: [SpiceName]
    /// Siemens, rows × columns.
    public var gPlus: Matrix
    public var gMinus: Matrix

    public init(prefix: String, rows: [SpiceName], plusLines: [SpiceName], minusLines: [SpiceName], gPlus: Matrix, gMinus: Matrix) {
        precondition(gPlus.rows == rows.count && gPlus.columns == plusLines.count && plusLines.count == minusLines.count)
        precondition(gMinus.rows == gPlus.rows && gMinus.columns == gPlus.columns)
        self.prefix = prefix
        self.rows = rows
        self.plusLines = plusLines
        self.minusLines = minusLines
        self.gPlus = gPlus
        self.gMinus = gMinus
    }

    public var resistorCount: Int {
        gPlus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } + gMinus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
    }

    public func resistorName(row: Int, column: Int, plus: Bool) -> SpiceName {
        SpiceName(prefix, "_r", String(row), "_c", String(column), plus ? "p" : "n")
    }

    /// Calls `body` for every resistor in writing order, without building an array.
    public func forEachResistor(_ body: (SpiceName, SpiceName, SpiceName, Double) throws -> Void) rethrows {
        for r in 0..<rows.count {
            for c in 0..<plusLines.count {
                let gp = gPlus[r, c], gn = gMinus[r, c]
                if gp > 0 { try body(resistorName(row: r, column: c, plus: true), plusLines[c], rows[r], 1 / gp) }
                if gn > 0 { try body(resistorName(row: r, column: c, plus: false), minusLines[c], rows[r], 1 / gn) }
            }
        }
    }

    public func elements() -> [Element] {
        var out: [Element] = []
        forEachResistor { out.append(.resistor($0, $1, $2, ohms: $3)) }
        return out
    }

    public func validate() throws {
        for r in 0..<rows.count {
            for c in 0..<plusLines.count {
                for (g, plus) in [(gPlus[r, c], true), (gMinus[r, c], false)] where !(g.isFinite && g >= 0) {
                    throw InvalidElementError(element: resistorName(row: r, column: c, plus: plus).text,
                                              reason: "conductance must be finite and ≥ 0, got \(g)")
                }
            }
        }
    }
}
