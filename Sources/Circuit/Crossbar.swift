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
    /// Wire resistance of the array's lines (all zero: ideal wires, today's netlist).
    public var wires = CrossbarWires()
    /// What a cell does beyond a linear resistor: I–V nonlinearity and read noise.
    public var cells = CellPhysics()
    /// Write each linear cell as a current source into its row, g·(V_line − V_row), instead of
    /// a resistor. The row currents are the same whenever the lines are held by ideal sources
    /// (the resistor's current into the line then changes nothing), and the MNA matrix loses the
    /// line-side entries, which ngspice's Markowitz ordering spends most of a large circuit's
    /// time on (`CircuitParameters.oneSidedCells`).
    public var oneSidedCells = false

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

    /// The resistors `forEachResistor` writes, counted without naming them (a Fashion-MNIST
    /// circuit has 700 000).
    public var resistorCount: Int {
        let cells = gPlus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } + gMinus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        let m = rows.count, n = plusLines.count
        let rowWires = (wires.rowSegment > 0 ? m * (n - 1) : 0) + (wires.rowSegment + wires.rowEnd > 0 ? m : 0)
        let columnWires = (wires.driver + wires.columnSegment > 0 ? 2 * n : 0) + (wires.columnSegment > 0 ? 2 * n * (m - 1) : 0)
        return cells + rowWires + columnWires
    }

    /// The node where cell (row, column) meets its row wire: one node per cell when row
    /// segments have resistance, one per row when only the row's end has, else the
    /// virtual ground itself.
    func rowNode(_ r: Int, _ c: Int) -> SpiceName {
        if wires.rowSegment > 0 { return SpiceName(prefix, "_R", String(r), "_", String(c)) }
        if wires.rowEnd > 0 { return SpiceName(prefix, "_R", String(r)) }
        return rows[r]
    }

    /// The node where cell (row, column) meets its + or − column wire, likewise.
    func columnNode(_ c: Int, _ r: Int, plus: Bool) -> SpiceName {
        let side = plus ? "_P" : "_N"
        if wires.columnSegment > 0 { return SpiceName(prefix, side, String(c), "_", String(r)) }
        if wires.driver > 0 { return SpiceName(prefix, side, String(c)) }
        return plus ? plusLines[c] : minusLines[c]
    }

    public func resistorName(row: Int, column: Int, plus: Bool) -> SpiceName {
        SpiceName(prefix, "_r", String(row), "_c", String(column), plus ? "p" : "n")
    }

    /// Calls `body` for every resistor in writing order, without building an array: the
    /// cells, then (with `wires`) the row wires from cell to cell and on to the virtual
    /// ground at the row's end, and the column wires from each driver down the rows.
    public func forEachResistor(_ body: (SpiceName, SpiceName, SpiceName, Double) throws -> Void) rethrows {
        try forEachCell { name, a, b, g, _, _, _ in try body(name, a, b, 1 / g) }
        try forEachWire(body)
    }

    /// Calls `body` for every device of the block (all by default): its name, column node, row
    /// node, conductance, row, column, side.
    func forEachCell(rows rowRange: Range<Int>? = nil, columns columnRange: Range<Int>? = nil,
                     _ body: (SpiceName, SpiceName, SpiceName, Double, Int, Int, Bool) throws -> Void) rethrows {
        for r in rowRange ?? 0..<rows.count {
            for c in columnRange ?? 0..<plusLines.count {
                let gp = gPlus[r, c], gn = gMinus[r, c]
                if gp > 0 { try body(resistorName(row: r, column: c, plus: true), columnNode(c, r, plus: true), rowNode(r, c), gp, r, c, true) }
                if gn > 0 { try body(resistorName(row: r, column: c, plus: false), columnNode(c, r, plus: false), rowNode(r, c), gn, r, c, false) }
            }
        }
    }

    /// The row and column wires, in writing order. With a block, the wires that belong to it:
    /// a segment belongs to the cell it starts at, a row's end to its last cell, a driver to row 0.
    func forEachWire(rows rowRange: Range<Int>? = nil, columns columnRange: Range<Int>? = nil,
                     _ body: (SpiceName, SpiceName, SpiceName, Double) throws -> Void) rethrows {
        let m = rows.count, n = plusLines.count
        let rr = rowRange ?? 0..<m, cr = columnRange ?? 0..<n
        let w = wires
        guard w.isResistive else { return }
        for r in rr {
            if w.rowSegment > 0 {
                for c in cr where c < n - 1 {
                    try body(SpiceName(prefix, "_wr", String(r), "_", String(c)), rowNode(r, c), rowNode(r, c + 1), w.rowSegment)
                }
            }
            // From the last cell to the TIA: one more segment, and the TIA's input resistance.
            let end = w.rowSegment + w.rowEnd
            if end > 0, cr.contains(n - 1) { try body(SpiceName(prefix, "_wr", String(r), "_end"), rowNode(r, n - 1), rows[r], end) }
        }
        for c in cr {
            for plus in [true, false] {
                let side = plus ? "p" : "n"
                let first = w.driver + w.columnSegment
                if first > 0, rr.contains(0) {
                    try body(SpiceName(prefix, "_wc", String(c), side, "_drv"), plus ? plusLines[c] : minusLines[c], columnNode(c, 0, plus: plus), first)
                }
                if w.columnSegment > 0 {
                    for r in rr where r < m - 1 {
                        try body(SpiceName(prefix, "_wc", String(c), side, "_", String(r)), columnNode(c, r, plus: plus),
                                 columnNode(c, r + 1, plus: plus), w.columnSegment)
                    }
                }
            }
        }
    }

    public func elements() -> [Element] {
        var out: [Element] = []
        forEachElement { out.append($0) }
        return out
    }

    public func validate() throws {
        try wires.validate()
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

/// The wire resistance of a crossbar (docs/circuit-mapping.md, "Wire resistance"). Each cell
/// holds its differential pair on one row segment and on one segment of each of its two column
/// wires. Drivers sit above row 0, the row's TIA after the last column, so the cell at the
/// bottom left sees the most IR drop.
public struct CrossbarWires: Sendable, Equatable {
    /// Ω of a row wire between neighbouring cells (and from the last cell to the row's end).
    public var rowSegment = 0.0
    /// Ω of a column wire between neighbouring cells (and from the driver to row 0).
    public var columnSegment = 0.0
    /// Ω between each line's driver and its wire.
    public var driver = 0.0
    /// Ω at the row's end, in front of the TIA's virtual ground.
    public var rowEnd = 0.0
    /// F from every wire node (between segments) to ground; needs wire resistance to have nodes.
    public var segmentCapacitance = 0.0
    /// For the behavioral backend in training, which rewrites every array at every batch: the
    /// exact IR-drop map is solved at every `exactMapEvery`-th reprogramming (cycle 0, N, 2N, …)
    /// and followed linearly from it in between (`IRDropAnchor`). 1: exact at every one.
    /// Circuits (SPICE) always hold the exact wires.
    public var exactMapEvery = 1

    public init(rowSegment: Double = 0, columnSegment: Double = 0, driver: Double = 0, rowEnd: Double = 0) {
        self.rowSegment = rowSegment
        self.columnSegment = columnSegment
        self.driver = driver
        self.rowEnd = rowEnd
    }

    public var isResistive: Bool { rowSegment > 0 || columnSegment > 0 || driver > 0 || rowEnd > 0 }

    /// Whether training follows the IR-drop map between exact solves (`exactMapEvery` > 1 on
    /// resistive wires).
    public var followsMapBetweenSolves: Bool { isResistive && exactMapEvery > 1 }

    public func validate() throws {
        for (key, v) in [("rowResistance", rowSegment), ("columnResistance", columnSegment), ("driverResistance", driver), ("tiaResistance", rowEnd),
                         ("segmentCapacitance", segmentCapacitance)]
            where !(v.isFinite && v >= 0) {
            throw InvalidElementError(element: "circuit.wire.\(key)", reason: "must be finite and ≥ 0 (Ω, F), got \(v)")
        }
        guard exactMapEvery >= 1 else {
            throw InvalidElementError(element: "circuit.wire.exactMapEvery", reason: "must be a whole number ≥ 1 (reprogrammings between exact IR-drop solves), got \(exactMapEvery)")
        }
    }
}
