import LinearAlgebra

/// IR drop without SPICE: the exact nodal solution of a crossbar with wire resistance, as
/// ngspice's operating point gives it (the rows end at virtual grounds, 0 V; ideal sources
/// drive the input lines through the driver resistance).
///
/// Unknowns are the voltages where each cell meets its row wire, R(r, c), and its + and −
/// column wires, P(c, r) and N(c, r). Kirchhoff's current law at every node is a symmetric
/// positive definite system (a conductance Laplacian with the sources as boundary values).
/// It is solved by block Gauss–Seidel over whole lines: with the column voltages fixed, each
/// row wire is a tridiagonal system in its n nodes (Thomas algorithm); with the row voltages
/// fixed, each column wire is one in its m nodes. A sweep costs O(m·n). While the wires
/// conduct far better than the cells (1 Ω segments against 10 kΩ–1 MΩ cells), the lines are
/// nearly equipotential and a handful of sweeps reach 1e-12 relative; the sweeps stop there.
///
/// The map from line voltages to row currents is linear, so `effectiveConductances()` gives
/// it as two m × n matrices, I = A⁺·V⁺ + A⁻·V⁻, from one solve per input line: a behavioral
/// backend then multiplies by them, at a plain product's cost per sample, for as long as the
/// conductances stay programmed.
extension Crossbar {
    /// Sweeps allowed before a solve gives up (a wire far more resistive than its cells).
    public static let irDropMaxSweeps = 10_000
    /// Over-relaxation of each line's update. Plain block Gauss–Seidel (1) is the fastest
    /// measured: on a 64 × 785 array with 1 Ω wires, ω = 1.5 took 6× the sweeps.
    public static let irDropRelaxation = 1.0

    /// The current into each row's virtual ground, amperes, for `plus` and `minus` volts on
    /// the input lines (n each); nil if the sweeps did not converge to `tolerance` (relative).
    public func rowCurrents(plus vPlus: [Double], minus vMinus: [Double], tolerance: Double = 1e-12) -> [Double]? {
        let m = rows.count, n = plusLines.count
        guard let nodes = nodeVoltages(plus: vPlus, minus: vMinus, rowEnds: nil, tolerance: tolerance) else { return nil }
        let (R, P, N) = (nodes.row, nodes.plus, nodes.minus)
        let w = wires
        let rowEndR = w.rowSegment + w.rowEnd
        let rowEnd = rowEndR > 0 ? 1 / rowEndR : .infinity
        return (0..<m).map { r in
            if rowEnd.isInfinite {
                return (0..<n).reduce(0.0) { $0 + gPlus[r, $1] * P[$1 * m + r] + gMinus[r, $1] * N[$1 * m + r] }
            }
            return rowEnd * R[r * n + n - 1]
        }
    }

    /// The node voltages (R[r·n + c], P and N as [c·m + r]) for `plus` and `minus` volts at the
    /// line sources and `rowEnds` volts at the rows' virtual grounds (nil: 0 V, as the TIAs
    /// hold them); nil if the sweeps did not converge to `tolerance` (relative).
    func nodeVoltages(plus vPlus: [Double], minus vMinus: [Double], rowEnds: [Double]?,
                      tolerance: Double) -> (row: [Double], plus: [Double], minus: [Double])? {
        let m = rows.count, n = plusLines.count
        precondition(vPlus.count == n && vMinus.count == n && (rowEnds?.count ?? m) == m)
        let w = wires
        let rowSeg = w.rowSegment > 0 ? 1 / w.rowSegment : .infinity
        let rowEndR = w.rowSegment + w.rowEnd
        let rowEnd = rowEndR > 0 ? 1 / rowEndR : .infinity
        let colSeg = w.columnSegment > 0 ? 1 / w.columnSegment : .infinity
        let firstR = w.driver + w.columnSegment
        let driver = firstR > 0 ? 1 / firstR : .infinity
        // R[r*n + c]; P and N as [c*m + r]. Start from the ideal lines: inputs on the columns, 0 on the rows.
        var R = [Double](repeating: 0, count: m * n)
        var P = [Double](repeating: 0, count: m * n), N = P
        for c in 0..<n { for r in 0..<m { P[c * m + r] = vPlus[c]; N[c * m + r] = vMinus[c] } }
        let scale = max(vPlus.map(abs).max() ?? 0, vMinus.map(abs).max() ?? 0, rowEnds?.map(abs).max() ?? 0, .leastNormalMagnitude)
        var diag = [Double](repeating: 0, count: max(m, n)), rhs = diag, cprime = diag
        // Thomas algorithm for a chain: diag, off-diagonal −g (g finite), right-hand side.
        func chain(_ count: Int, _ g: Double, _ out: (Int, Double) -> Void) {
            cprime[0] = -g / diag[0]
            rhs[0] /= diag[0]
            for k in 1..<count {
                let d = diag[k] + g * cprime[k - 1]
                cprime[k] = -g / d
                rhs[k] = (rhs[k] + g * rhs[k - 1]) / d
            }
            var x = rhs[count - 1]
            out(count - 1, x)
            for k in stride(from: count - 2, through: 0, by: -1) {
                x = rhs[k] - cprime[k] * x
                out(k, x)
            }
        }
        var converged = false
        for _ in 0..<Self.irDropMaxSweeps {
            // Over-relaxed line Gauss–Seidel (line SOR).
            let omega = Self.irDropRelaxation
            var change = 0.0
            // Rows, given the columns.
            for r in 0..<m {
                if rowEnd.isInfinite {
                    // The cells meet the virtual ground itself.
                    continue
                }
                let endVolts = rowEnds?[r] ?? 0
                if rowSeg.isInfinite || n == 1 {
                    var num = rowEnd * endVolts, den = rowEnd
                    for c in 0..<n {
                        let gp = gPlus[r, c], gn = gMinus[r, c]
                        num += gp * P[c * m + r] + gn * N[c * m + r]
                        den += gp + gn
                    }
                    let v = num / den
                    for c in 0..<n {
                        let new = R[r * n + c] + omega * (v - R[r * n + c])
                        change = max(change, abs(new - R[r * n + c]))
                        R[r * n + c] = new
                    }
                    continue
                }
                for c in 0..<n {
                    let gp = gPlus[r, c], gn = gMinus[r, c]
                    diag[c] = gp + gn + (c > 0 ? rowSeg : 0) + (c < n - 1 ? rowSeg : rowEnd)
                    rhs[c] = gp * P[c * m + r] + gn * N[c * m + r]
                }
                rhs[n - 1] += rowEnd * endVolts
                chain(n, rowSeg) { c, v in
                    let new = R[r * n + c] + omega * (v - R[r * n + c])
                    change = max(change, abs(new - R[r * n + c]))
                    R[r * n + c] = new
                }
            }
            // Columns, given the rows.
            if !driver.isInfinite {
                for c in 0..<n {
                    for (plus, source) in [(true, vPlus[c]), (false, vMinus[c])] {
                        func g(_ r: Int) -> Double { plus ? gPlus[r, c] : gMinus[r, c] }
                        func set(_ r: Int, _ v: Double) {
                            if plus {
                                let new = P[c * m + r] + omega * (v - P[c * m + r])
                                change = max(change, abs(new - P[c * m + r])); P[c * m + r] = new
                            } else {
                                let new = N[c * m + r] + omega * (v - N[c * m + r])
                                change = max(change, abs(new - N[c * m + r])); N[c * m + r] = new
                            }
                        }
                        if colSeg.isInfinite || m == 1 {
                            var num = driver * source, den = driver
                            for r in 0..<m { num += g(r) * R[r * n + c]; den += g(r) }
                            let v = num / den
                            for r in 0..<m { set(r, v) }
                            continue
                        }
                        for r in 0..<m {
                            diag[r] = g(r) + (r > 0 ? colSeg : driver) + (r < m - 1 ? colSeg : 0)
                            rhs[r] = g(r) * R[r * n + c] + (r == 0 ? driver * source : 0)
                        }
                        chain(m, colSeg, set)
                    }
                }
            }
            if change <= tolerance * scale {
                converged = true
                break
            }
        }
        guard converged else { return nil }
        return (R, P, N)
    }

    /// A⁺ and A⁻ (m × n, siemens): the row currents are I = A⁺·V⁺ + A⁻·V⁻. Without wire
    /// resistance they are the programmed conductances; with it, one solve per input line or,
    /// by reciprocity, one per row, whichever is fewer. nil if a solve did not converge.
    ///
    /// Reciprocity: a passive resistive network's short-circuit transfer conductances are
    /// symmetric, so the current into row r's virtual ground per volt at line c's source equals
    /// the current into line c's source per volt at row r's virtual ground. One solve with row
    /// r's ground at 1 V and every source at 0 V gives row r of both maps: A±[r, c] is the
    /// current from the wire into source c, g_driver·V(top of line c). It needs a driver and a
    /// row-end resistance (else the terminals are wire nodes themselves); a first layer of
    /// 784 inputs and 256 rows then takes 256 solves instead of 1 570. The solves run on every core.
    /// `byRows` forces one way (for tests; it is ignored where the terminals are wire nodes).
    public func effectiveConductances(byRows preferred: Bool? = nil) -> (plus: Matrix, minus: Matrix)? {
        guard wires.isResistive else { return (gPlus, gMinus) }
        let m = rows.count, n = plusLines.count
        let w = wires
        let driverR = w.driver + w.columnSegment, rowEndR = w.rowSegment + w.rowEnd
        let byRows = driverR > 0 && rowEndR > 0 && (preferred ?? (m < 2 * n))
        let solves = byRows ? m : 2 * n
        // Each solve fills its own row (or column) of A± in `results`, and marks `failed` if it did not converge.
        let columns = byRows ? 2 * n : m
        let results = UnsafeMutableBufferPointer<Double>.allocate(capacity: solves * columns)
        defer { results.deallocate() }
        let failed = UnsafeMutableBufferPointer<Bool>.allocate(capacity: solves)
        defer { failed.deallocate() }
        failed.initialize(repeating: false)
        let zeroLines = [Double](repeating: 0, count: n), zeroRows = [Double](repeating: 0, count: m)
        // Iterations write disjoint slots, as `Parallel.forEach` asks.
        Parallel.forEach(solves) { k in
            let out = results.baseAddress! + k * columns
            if byRows {
                var ends = zeroRows
                ends[k] = 1
                guard let nodes = nodeVoltages(plus: zeroLines, minus: zeroLines, rowEnds: ends, tolerance: 1e-12) else {
                    failed[k] = true
                    return
                }
                for c in 0..<n {
                    out[c] = nodes.plus[c * m] / driverR
                    out[n + c] = nodes.minus[c * m] / driverR
                }
            } else {
                var unit = zeroLines
                unit[k % n] = 1
                let currents = k < n ? rowCurrents(plus: unit, minus: zeroLines) : rowCurrents(plus: zeroLines, minus: unit)
                guard let currents else {
                    failed[k] = true
                    return
                }
                for r in 0..<m { out[r] = currents[r] }
            }
        }
        guard !failed.contains(true) else { return nil }
        var aPlus = Matrix(rows: m, columns: n), aMinus = Matrix(rows: m, columns: n)
        for k in 0..<solves {
            let row = results.baseAddress! + k * columns
            if byRows {
                for c in 0..<n {
                    aPlus[k, c] = row[c]
                    aMinus[k, c] = row[n + c]
                }
            } else {
                for r in 0..<m {
                    if k < n { aPlus[r, k] = row[r] } else { aMinus[r, k - n] = row[r] }
                }
            }
        }
        return (aPlus, aMinus)
    }
}
