import LinearAlgebra

/// One exact IR-drop solve of an array: the conductances G₀± it was solved for and its map A₀±
/// (`Crossbar.effectiveConductances`, siemens, rows × lines).
///
/// Training rewrites every array at every batch, and an exact solve of a 784-input layer costs
/// 45 s of CPU. Between exact solves an array's map follows its anchor linearly, cell by cell:
///
///     A±[r, c] = A₀±[r, c] + K±[r, c]·(G±[r, c] − G₀±[r, c]),   K± = A₀±/G₀±  (1 where G₀± = 0)
///
/// K is each cell's attenuation by the wires, the share of its own current that reaches its
/// row's TIA. It depends on the other cells only through the currents they push through the
/// shared wires, so it drifts slowly while the weights take small steps; what the map leaves
/// out is K's own change, in proportion to both the IR drop and the step (measured on random
/// arrays: 0.08–0.10 × the IR drop's share of the weights × the relative step, `IRDropAnchorTests`).
/// An unchanged cell keeps A₀ to the bit (the step is exactly 0), which is what makes a resumed
/// run, given the anchors, realise exactly what the interrupted one held.
public struct IRDropAnchor: Sendable, Equatable {
    public var gPlus: Matrix
    public var gMinus: Matrix
    public var aPlus: Matrix
    public var aMinus: Matrix

    public init(gPlus: Matrix, gMinus: Matrix, aPlus: Matrix, aMinus: Matrix) {
        self.gPlus = gPlus
        self.gMinus = gMinus
        self.aPlus = aPlus
        self.aMinus = aMinus
    }

    /// Whether it can serve an array of `rows` × `columns` cells.
    public func fits(rows: Int, columns: Int) -> Bool {
        [gPlus, gMinus, aPlus, aMinus].allSatisfy { $0.rows == rows && $0.columns == columns }
    }

    /// The linearized map at conductances `g` (the formula above), for one polarity.
    static func follow(_ g: Matrix, from g0: Matrix, map a0: Matrix) -> Matrix {
        var a = a0
        a.storage.withUnsafeMutableBufferPointer { out in
            g.storage.withUnsafeBufferPointer { g in
                g0.storage.withUnsafeBufferPointer { g0 in
                    for k in 0..<out.count {
                        let step = g[k] - g0[k]
                        guard step != 0 else { continue }
                        out[k] += (g0[k] > 0 ? out[k] / g0[k] : 1) * step
                    }
                }
            }
        }
        return a
    }

    /// A⁺ and A⁻ at the conductances `gPlus`, `gMinus`.
    public func map(gPlus: Matrix, gMinus: Matrix) -> (plus: Matrix, minus: Matrix) {
        (Self.follow(gPlus, from: self.gPlus, map: aPlus), Self.follow(gMinus, from: self.gMinus, map: aMinus))
    }
}

extension ProgrammedArray {
    /// Replaces `realised` by the weights the array realises through `wires`: (A⁺ − A⁻)/G_unit.
    /// With an `anchor` that fits, A± follow it (`IRDropAnchor`); otherwise they are solved
    /// exactly and become the array's anchor. If the exact solve does not converge (wires far
    /// more resistive than their cells) the cells' own weights stand.
    mutating func applyIRDrop(wires: CrossbarWires, anchor: IRDropAnchor?) {
        let a: (plus: Matrix, minus: Matrix)
        if let anchor, anchor.fits(rows: gPlus.rows, columns: gPlus.columns) {
            a = anchor.map(gPlus: gPlus, gMinus: gMinus)
            irDropAnchor = anchor
            irDropIsExact = anchor.gPlus == gPlus && anchor.gMinus == gMinus
        } else {
            let m = gPlus.rows, n = gPlus.columns
            var bar = Crossbar(prefix: "IR", rows: (0..<m).map { SpiceName("r", String($0)) },
                               plusLines: (0..<n).map { SpiceName("p", String($0)) },
                               minusLines: (0..<n).map { SpiceName("n", String($0)) },
                               gPlus: gPlus, gMinus: gMinus)
            bar.wires = wires
            guard let exact = bar.effectiveConductances() else {
                irDropAnchor = nil
                irDropIsExact = false
                return
            }
            a = exact
            irDropAnchor = IRDropAnchor(gPlus: gPlus, gMinus: gMinus, aPlus: exact.plus, aMinus: exact.minus)
            irDropIsExact = true
        }
        realised = (a.plus - a.minus) / gUnit
    }
}
