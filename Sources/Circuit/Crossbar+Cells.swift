import Foundation
import LinearAlgebra

/// What a crossbar cell does beyond a linear resistor (docs/circuit-mapping.md, "Devices").
///
/// - I–V nonlinearity: I = G·V₀·sinh(V/V₀), the small-signal conductance G at V = 0 (the form
///   of the Stanford–PKU RRAM compact model's tunnelling gap); V₀ = 0 is a linear resistor.
/// - Read noise: G(t) = G·(1 + n(t)) during the transient, n white with rms `white` per sample
///   plus 1/f with rms `pink`, independent per device, from `seed`. ngspice-39's TRNOISE cannot
///   be seeded (two runs of one netlist differ), so the samples come from DFCSpice's seeded
///   generator as a PWL source per device: the same seed gives the same netlist and trace.
public struct CellPhysics: Sendable, Equatable {
    /// V₀ of the sinh I–V, volts; 0: linear.
    public var nonlinearityVoltage = 0.0
    /// Relative rms of the white and the 1/f read noise of each device's conductance.
    public var white = 0.0
    public var pink = 0.0
    public var seed: UInt64 = 0
    /// Sample spacing and length of the noise, seconds.
    public var step = 0.0
    public var stop = 0.0

    public init() {}

    public var isNoisy: Bool { (white > 0 || pink > 0) && step > 0 && stop > 0 }
    public var isLinearResistor: Bool { nonlinearityVoltage == 0 && !isNoisy }

    /// The 1/f part's octaves for a run of `samples` samples and total rms `rms` (none when 0):
    /// AR(1) coefficients a_k = e^(−1/τ_k) for τ_k = 2^k samples, the innovation scale of each,
    /// and each octave's stationary rms (rms/√octaves).
    public static func pinkOctaves(samples count: Int, rms pink: Double) -> (decay: [Double], innovation: [Double], perOctave: Double) {
        guard pink > 0 else { return ([], [], 0) }
        let octaves = max(1, Int(Foundation.log2(Double(count)).rounded(.up)))
        let perOctave = pink / Double(octaves).squareRoot()
        let decay = (0..<octaves).map { Foundation.exp(-1 / Foundation.pow(2, Double($0))) }
        return (decay, decay.map { (1 - $0 * $0).squareRoot() * perOctave }, perOctave)
    }

    /// Samples of n(t) for one device: white plus 1/f, the 1/f part a sum of first-order
    /// (AR(1)) processes with time constants 1, 2, 4, … samples and equal variance, whose
    /// spectrum is flat to within ±1.5 dB per octave around 1/f over the run's band.
    public func noiseSamples(device: UInt64) -> [(time: Double, value: Double)] {
        let count = Int((stop / step).rounded(.up)) + 1
        var g = SeededGenerator(seed: seed).derived(device)
        var out = [(time: Double, value: Double)]()
        out.reserveCapacity(count)
        let (decay, innovation, perOctave) = Self.pinkOctaves(samples: count, rms: pink)
        var state = [Double](repeating: 0, count: decay.count)
        for k in state.indices { state[k] = g.nextNormal() * perOctave }
        for i in 0..<count {
            var n = white > 0 ? white * g.nextNormal() : 0
            for k in state.indices {
                state[k] = decay[k] * state[k] + innovation[k] * g.nextNormal()
                n += state[k]
            }
            // The first sample is 0: the operating point sees the devices' own conductances.
            out.append((Double(i) * step, i == 0 ? 0 : n))
        }
        return out
    }
}

extension Crossbar {
    /// Number of elements written: resistors, for cells with physics their sources, and the
    /// wire nodes' capacitors.
    public var elementCount: Int {
        let capacitors = wireNodeCount
        guard !cells.isLinearResistor else { return resistorCount + capacitors }
        let devices = gPlus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } + gMinus.storage.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        return resistorCount + (cells.isNoisy ? 2 * devices : 0) + capacitors
    }

    /// The nodes `forEachWireNode` visits, counted without naming them.
    var wireNodeCount: Int {
        guard wires.segmentCapacitance > 0 else { return 0 }
        let m = rows.count, n = plusLines.count
        let rowNodes = wires.rowSegment > 0 ? m * n : (wires.rowEnd > 0 ? m : 0)
        let columnNodes = wires.columnSegment > 0 ? 2 * n * m : (wires.driver > 0 ? 2 * n : 0)
        return rowNodes + columnNodes
    }

    /// Every node between wire segments (none without wire resistance), when they get a
    /// `segmentCapacitance`: the cells' row nodes, then the + and − column nodes.
    /// With a block, its nodes: a node shared by a whole row (or column) belongs to the block
    /// holding column 0 (or row 0).
    func forEachWireNode(rows rowRange: Range<Int>? = nil, columns columnRange: Range<Int>? = nil,
                         _ body: (SpiceName) throws -> Void) rethrows {
        guard wires.segmentCapacitance > 0 else { return }
        let rr = rowRange ?? 0..<rows.count, cr = columnRange ?? 0..<plusLines.count
        if wires.rowSegment > 0 || wires.rowEnd > 0 {
            for r in rr { for c in cr where wires.rowSegment > 0 || c == 0 { try body(rowNode(r, c)) } }
        }
        if wires.columnSegment > 0 || wires.driver > 0 {
            for c in cr {
                for plus in [true, false] { for r in rr where wires.columnSegment > 0 || r == 0 { try body(columnNode(c, r, plus: plus)) } }
            }
        }
    }

    /// Calls `body` for every element in writing order: each cell (a resistor, or a sinh
    /// current source; with read noise also its noise source and the noise current), then the wires.
    public func forEachElement(rows rowRange: Range<Int>? = nil, columns columnRange: Range<Int>? = nil,
                               _ body: (Element) throws -> Void) rethrows {
        let n = NgspiceDialect.number
        let v0 = cells.nonlinearityVoltage
        try forEachCell(rows: rowRange, columns: columnRange) { name, a, b, g, r, c, plus in
            let drop = "(V(\(a))-V(\(b)))"
            // The argument is clamped at ±30 (7.5 V at V₀ = 0.25 V): no cell sees that, but Newton's
            // first iterates and gmin stepping may, and sinh beyond ±700 overflows in ngspice.
            let current = v0 > 0 ? "\(n(g * v0))*sinh(max(min(\(drop)/\(n(v0)), 30), -30))" : "\(n(g))*\(drop)"
            if v0 > 0 {
                try body(.behavioralCurrent(name, a, b, expression: current))
            } else if oneSidedCells && !cells.isNoisy {
                try body(.vccs(name, .ground, b, a, b, siemens: g))
            } else {
                try body(.resistor(name, a, b, ohms: 1 / g))
            }
            guard cells.isNoisy else { return }
            let side = plus ? "p" : "n"
            let node = SpiceName(prefix, "_rn", String(r), "_", String(c), side)
            let device = (UInt64(r) << 32) | (UInt64(c) << 1) | (plus ? 0 : 1)
            try body(.voltageSource(SpiceName(prefix, "_rn", String(r), "_", String(c), side), node, .ground,
                                    .pwl(cells.noiseSamples(device: device), parameterScaled: nil)))
            try body(.behavioralCurrent(SpiceName(prefix, "_rd", String(r), "_", String(c), side), a, b,
                                        expression: "\(current)*V(\(node))"))
        }
        try forEachWire(rows: rowRange, columns: columnRange) { try body(.resistor($0, $1, $2, ohms: $3)) }
        try forEachWireNode(rows: rowRange, columns: columnRange) { node in try body(.capacitor(SpiceName(node.text, "_C"), node, .ground, farads: wires.segmentCapacitance)) }
    }
}
