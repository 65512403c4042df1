import Circuit
import Foundation
import LinearAlgebra
import Testing

@Suite("Crossbar wire resistance", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
struct WireResistanceTests {
    static var hasNumPy: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// 256×64 takes ngspice's operating point about 5 minutes here (its sparse ordering):
    /// run with DFCSPICE_LARGE_TESTS=1 (docs/results.md has the figure), not in every suite.
    static var largeIRDropShapes: [(Int, Int, Int)] {
        ProcessInfo.processInfo.environment["DFCSPICE_LARGE_TESTS"] == nil ? [] : [(256, 64, 0)]
    }

    /// A crossbar of `rows` × `columns` cells with conductances in [1, 100] µS.
    func crossbar(_ rows: Int, _ columns: Int, wires: CrossbarWires, seed: UInt64) -> (Crossbar, [Double]) {
        var g = SeededGenerator(seed: seed)
        var gp = Matrix(rows: rows, columns: columns), gn = gp
        for k in 0..<gp.storage.count {
            gp.storage[k] = 1e-6 + 99e-6 * g.nextOpenUnit()
            gn.storage[k] = 1e-6 + 99e-6 * g.nextOpenUnit()
        }
        let x = (0..<columns).map { _ in g.nextOpenUnit() - 0.5 }
        var bar = Crossbar(prefix: "W1", rows: (0..<rows).map { .sanitized("row\($0)") },
                           plusLines: (0..<columns).map { .sanitized("xp\($0)") }, minusLines: (0..<columns).map { .sanitized("xn\($0)") },
                           gPlus: gp, gMinus: gn)
        bar.wires = wires
        return (bar, x)
    }

    /// The current into each row's virtual ground, as stock ngspice computes it.
    func ngspiceRowCurrents(_ bar: Crossbar, x: [Double], in dir: URL) throws -> [Double] {
        var lines = ["crossbar with wires"]
        for (c, v) in x.enumerated() { lines += ["Vxp\(c) xp\(c) 0 DC \(v)", "Vxn\(c) xn\(c) 0 DC \(-v)"] }
        for r in bar.rows.indices { lines.append("Vrow\(r) row\(r) 0 DC 0") }
        bar.forEachResistor { name, a, b, ohms in lines.append("R\(name) \(a) \(b) \(ohms)") }
        lines += [".op", ".end"]
        let run = try Ngspice.run(netlist: lines.joined(separator: "\n") + "\n", in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        return try bar.rows.indices.map { r in
            // ngspice's branch current flows from + to − through the source: into the row node from the array.
            try #require(plot.vector("i(vrow\(r))") ?? plot.vector("vrow\(r)#branch"), "\(plot.names.prefix(20))").first ?? .nan
        }
    }

    @Test("IR drop: ngspice's row currents equal an independent nodal solution (NumPy) for 4×3 up to 16×16 arrays",
          .enabled(if: hasNumPy), arguments: [(4, 3), (16, 16), (32, 8)])
    func matchesNodalSolution(shape: (Int, Int)) throws {
        let wires = CrossbarWires(rowSegment: 25, columnSegment: 15, driver: 10, rowEnd: 40)
        let (bar, x) = crossbar(shape.0, shape.1, wires: wires, seed: UInt64(shape.0 * 100 + shape.1))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spice = try ngspiceRowCurrents(bar, x: x, in: dir)
        let spec: [String: Any] = [
            "gPlus": (0..<bar.gPlus.rows).map { bar.gPlus.row($0) }, "gMinus": (0..<bar.gMinus.rows).map { bar.gMinus.row($0) }, "x": x,
            "rowSegment": wires.rowSegment, "columnSegment": wires.columnSegment, "driver": wires.driver, "rowEnd": wires.rowEnd,
        ]
        let specURL = dir.appendingPathComponent("spec.json")
        try JSONSerialization.data(withJSONObject: spec).write(to: specURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("crosscheck/crossbar_ir.py").path, specURL.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let numpy = text.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        try #require(numpy.count == spice.count, "\(text)")
        // Ideal wires would give Σ_c (G⁺ − G⁻) x_c; the wires must make a visible difference.
        var ideal = [Double](repeating: 0, count: spice.count)
        for r in ideal.indices { for c in x.indices { ideal[r] += (bar.gPlus[r, c] - bar.gMinus[r, c]) * x[c] } }
        let scale = ideal.map(abs).max() ?? 1
        for r in spice.indices {
            #expect(abs(spice[r] - numpy[r]) <= 1e-9 * scale, "row \(r): ngspice \(spice[r]), NumPy \(numpy[r])")
        }
        let drop = zip(spice, ideal).map { abs($0 - $1) }.max() ?? 0
        #expect(drop > 1e-4 * scale, "wires changed the currents by only \(drop / scale) of the largest")
    }

    @Test("the line-relaxation IR-drop solve gives ngspice's row currents within 1e-4 relative, 16×16 and 64×32, every wire layout (256×64: docs/results.md)",
          arguments: [(16, 16, 0), (64, 32, 0), (16, 16, 1), (16, 16, 2), (16, 16, 3)] + largeIRDropShapes)
    func relaxationMatchesNgspice(rows: Int, columns: Int, layout: Int) throws {
        // 1 Ω per segment, 10 Ω driver and TIA input (the realistic preset's); then the
        // layouts where only some wires have resistance, which collapse lines to single nodes.
        let wires = [CrossbarWires(rowSegment: 1, columnSegment: 1, driver: 10, rowEnd: 10),
                     CrossbarWires(rowSegment: 2, driver: 5), CrossbarWires(columnSegment: 2, rowEnd: 5),
                     CrossbarWires(driver: 40, rowEnd: 40)][layout]
        let (bar, x) = crossbar(rows, columns, wires: wires, seed: UInt64(rows * 1000 + columns + layout))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spice = try ngspiceRowCurrents(bar, x: x, in: dir)
        let solved = try #require(bar.rowCurrents(plus: x, minus: x.map { -$0 }))
        var ideal = [Double](repeating: 0, count: rows)
        for r in 0..<rows { for c in 0..<columns { ideal[r] += (bar.gPlus[r, c] - bar.gMinus[r, c]) * x[c] } }
        let scale = spice.map(abs).max() ?? 1
        let worst = zip(spice, solved).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "largest difference \(worst / scale) of the largest current")
        print("IR drop \(rows)x\(columns) layout \(layout): relaxation against ngspice \(worst / scale) of the largest row current")
        let drop = zip(spice, ideal).map { abs($0 - $1) }.max() ?? 0
        #expect(drop > 100 * worst, "the wires moved the currents by \(drop / scale) only")
        // The effective conductances reproduce the solve as a product.
        if rows <= 64 {
            let a = try #require(bar.effectiveConductances())
            for r in 0..<rows {
                let product = (0..<columns).reduce(0.0) { $0 + a.plus[r, $1] * x[$1] - a.minus[r, $1] * x[$1] }
                #expect(abs(product - solved[r]) <= 1e-9 * scale, "row \(r)")
            }
        }
    }

    @Test("the effective conductances by rows (reciprocity) equal those by input lines, every wire layout and shape",
          arguments: [(12, 40), (40, 12), (1, 9), (9, 1)], [0, 1, 2, 3])
    func reciprocity(shape: (Int, Int), layout: Int) throws {
        let wires = [CrossbarWires(rowSegment: 1, columnSegment: 1, driver: 10, rowEnd: 10),
                     CrossbarWires(rowSegment: 2, driver: 5), CrossbarWires(columnSegment: 2, rowEnd: 5),
                     CrossbarWires(driver: 40, rowEnd: 40)][layout]
        let (bar, _) = crossbar(shape.0, shape.1, wires: wires, seed: UInt64(shape.0 * 100 + shape.1 + layout))
        let lines = try #require(bar.effectiveConductances(byRows: false))
        let rows = try #require(bar.effectiveConductances(byRows: true))
        let scale = max(lines.plus.maxAbs, lines.minus.maxAbs)
        #expect((rows.plus - lines.plus).maxAbs <= 1e-10 * scale && (rows.minus - lines.minus).maxAbs <= 1e-10 * scale,
                "\(shape) layout \(layout): \((rows.plus - lines.plus).maxAbs / scale), \((rows.minus - lines.minus).maxAbs / scale)")
        // The wires matter here: the map is not the cells' own conductances.
        #expect((lines.plus - bar.gPlus).maxAbs > 1e-6 * scale)
    }

    @Test("ideal wires write today's netlist; each resistance adds its segments; bad values name the key")
    func netlistShape() throws {
        let (plain, _) = crossbar(3, 2, wires: CrossbarWires(), seed: 1)
        #expect(plain.resistorCount == 12)
        var rows = plain
        rows.wires = CrossbarWires(rowSegment: 1)
        #expect(rows.resistorCount == 12 + 3 * (2 - 1) + 3)        // between cells, and to the TIA
        var columns = plain
        columns.wires = CrossbarWires(columnSegment: 1)
        #expect(columns.resistorCount == 12 + 2 * 2 * (3 - 1) + 2 * 2)   // two wires per column, and from the driver
        // The count without naming equals what is written, for every combination.
        for w in [CrossbarWires(driver: 1), CrossbarWires(rowEnd: 1), CrossbarWires(rowSegment: 1, columnSegment: 2, driver: 3, rowEnd: 4)] {
            var bar = plain
            bar.wires = w
            var written = 0
            bar.forEachResistor { _, _, _, _ in written += 1 }
            #expect(bar.resistorCount == written, "\(w)")
        }
        var bad = plain
        bad.wires = CrossbarWires(rowSegment: -1)
        #expect(throws: InvalidElementError.self) { try bad.validate() }
        do { try bad.validate() } catch let e as InvalidElementError { #expect(e.element == "circuit.wire.rowResistance") }
    }

    @Test("segment capacitance: one capacitor per wire node; a driven line charges with τ = C/(G_driver + G_cell)")
    func segmentCapacitance() throws {
        var wires = CrossbarWires(driver: 1e3)
        wires.segmentCapacitance = 1e-9
        let (bar, _) = crossbar(1, 1, wires: wires, seed: 4)
        #expect(bar.elementCount == 2 + 2 + 2)   // two cells, two driver resistors, two column nodes
        // The count holds for every wire layout: the elements written are the elements counted.
        for w in [CrossbarWires(rowSegment: 1), CrossbarWires(rowEnd: 1), CrossbarWires(columnSegment: 1), CrossbarWires(driver: 1, rowEnd: 2),
                  CrossbarWires(rowSegment: 1, columnSegment: 1, driver: 1, rowEnd: 1)] {
            var capacitive = w
            capacitive.segmentCapacitance = 1e-15
            let (b, _) = crossbar(3, 4, wires: capacitive, seed: 2)
            var written = 0
            b.forEachElement { _ in written += 1 }
            #expect(b.elementCount == written, "\(capacitive)")
        }
        let g = bar.gPlus[0, 0]
        var lines = ["rc", "Vxp0 xp0 0 PWL(0 0 1n 1)", "Vxn0 xn0 0 DC 0", "Vrow0 row0 0 DC 0"]
        bar.forEachElement { lines += NgspiceDialect().lines(for: $0, opAmp: .ideal(gain: 1)) }
        let tau = 1e-9 / (1e-3 + g)
        lines += [".tran \(tau / 50) \(5 * tau) 0 \(tau / 50)", ".end"]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: lines.joined(separator: "\n") + "\n", in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        let t = try #require(plot.vector("time")), v = try #require(plot.vector("w1_p0"), "\(plot.names)")
        let final = 1e-3 / (1e-3 + g)
        for (time, value) in zip(t, v) where time > 2e-9 {
            let expected = final * (1 - Foundation.exp(-(time - 1e-9) / tau))
            #expect(abs(value - expected) < 0.01 * final, "t = \(time): \(value) V, expected \(expected) V")
        }
        #expect(Ngspice.problems(run.log).isEmpty, "\(Ngspice.problems(run.log))")
    }
}
