import Circuit
import DFC
import Foundation
import LinearAlgebra
import Spice
import Testing

@Suite("Netlist numbers and hierarchy")
struct HierarchyTests {
    @Test("values are written in engineering notation with at most nine significant digits")
    func engineeringSpelling() {
        for (x, text) in [(100003.0000600012, "100.003k"), (1e-05, "10u"), (0.5, "500m"), (-0.5, "-500m"), (1e5, "100k"),
                          (1e7, "10meg"), (2.2e-9, "2.2n"), (1e-10, "100p"), (0, "0"), (27, "27"), (999.99999999996, "1k"),
                          (4.7e-15, "4.7f"), (4.7e-16, "4.7e-16"), (1.5e-18, "1.5e-18"), (3e15, "3e+15"), (-66666666.66666, "-66.6666667meg")] {
            #expect(NgspiceDialect.engineering(x) == text, "\(x)")
        }
    }

    @Test("every written value reads back within 5e-9 relative, suffixes included")
    func roundTrip() throws {
        var g = SeededGenerator(seed: 11)
        for _ in 0..<20_000 {
            let x = (g.nextOpenUnit() < 0.5 ? -1.0 : 1.0) * Foundation.pow(10, 36 * g.nextOpenUnit() - 20)
            let text = NgspiceDialect.engineering(x)
            let back = try #require(NgspiceDialect.value(of: text), "\(text)")
            #expect(abs(back / x - 1) <= 5e-9, "\(x) → \(text) → \(back)")
        }
        #expect(abs((NgspiceDialect.value(of: "10uF") ?? 0) - 1e-5) < 1e-20)
        #expect(NgspiceDialect.value(of: "1Meg") == 1e6)
        #expect(NgspiceDialect.value(of: "2.5e-3") == 2.5e-3)
        #expect(NgspiceDialect.value(of: "ohm") == nil)
    }

    /// The student–teacher circuit with offsets that differ per op-amp, wires and the BJT pair,
    /// so every kind of subcircuit and parameter occurs.
    func mapped() throws -> MappedCircuit {
        var c = studentTeacherConfiguration()
        c.sizes = [4, 3, 2]
        c.activations = [.tanh, .linear]
        let net = try Network.initialized(c, seed: 5)
        var p = CircuitParameters()
        p.opAmp = .macromodel(OpAmpMacromodel(gain: 1e5, gbw: 1e7, offsetSigma: 1e-4))
        p.wire = CrossbarWires(rowSegment: 1, columnSegment: 1, driver: 2, rowEnd: 3)
        p.activation = .bjtPair(BJTPairActivation())
        return try DFCCircuitMapper(configuration: c, parameters: p)
            .map(network: net, input: [0.3, -0.2, 0.1, 0.4], target: [0.1, -0.1], phase: .controlled)
    }

    @Test("neurons, controller channels and crossbars become subcircuits; shared structure is written once")
    func structure() throws {
        let text = try NgspiceDialect().text(mapped().circuit)
        let definitions = text.split(separator: "\n").filter { $0.hasPrefix(".subckt") }.map { $0.split(separator: " ")[1] }
        #expect(Set(definitions) == ["opamp_mm", "phi_bjt", "xbar_W1", "xbar_Q1", "xbar_W2", "xbar_Q2", "neuron_L1", "neuron_L2", "pi_channel"])
        // Offsets differ per op-amp: they are parameters of the neuron and channel definitions.
        #expect(text.contains("vos={vos_basalTIA}"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("XL1_N") }.count == 3)
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("XC") }.count == 2)
        let flat = try NgspiceDialect().text(mapped().circuit, flat: true)
        #expect(!flat.contains(".subckt neuron") && !flat.contains(".subckt xbar"))
    }

    @Test("a crossbar wider than a subcircuit call may be (ngspice: 1005 nets) is written as tiles; with wires it solves as the flat one",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")), arguments: [false, true])
    func wideCrossbar(wires: Bool) throws {
        // The dialect's limit is lowered so that a 10 × 13 array tiles as 3 × 4 blocks of 4 × 4.
        let dialect = NgspiceDialect(maxSubcircuitPorts: 30, tileSize: 4)
        let rows = 10, columns = 13
        var g = SeededGenerator(seed: 8)
        var bar = Crossbar(prefix: "W1", rows: (0..<rows).map { .sanitized("row\($0)") }, plusLines: (0..<columns).map { .sanitized("p\($0)") },
                           minusLines: (0..<columns).map { .sanitized("n\($0)") },
                           gPlus: Matrix(rows: rows, columns: columns) { _, _ in 1e-6 + 1e-5 * g.nextOpenUnit() },
                           gMinus: Matrix(rows: rows, columns: columns) { _, _ in 1e-6 + 1e-5 * g.nextOpenUnit() })
        if wires { bar.wires = CrossbarWires(rowSegment: 2, columnSegment: 2, driver: 5, rowEnd: 5) }
        var circuit = Circuit(title: "wide")
        circuit.elements = (0..<columns).flatMap { k -> [Element] in
            let x = 0.4 * Foundation.sin(Double(k))
            return [.voltageSource(.sanitized("p\(k)"), .sanitized("p\(k)"), .ground, .dc(x)),
                    .voltageSource(.sanitized("n\(k)"), .sanitized("n\(k)"), .ground, .dc(-x))]
        } + (0..<rows).map { .voltageSource(.sanitized("row\($0)"), .sanitized("row\($0)"), .ground, .dc(0)) }
        circuit.crossbars = [bar]
        circuit.directives = [.operatingPoint]
        let text = try dialect.text(circuit)
        #expect(!text.contains(".subckt xbar_W1 "))
        #expect(text.contains(".subckt xbar_W1_t2_3"))   // rows 8–9, column 12
        #expect(try NgspiceDialect().text(circuit).contains(".subckt xbar_W1 "))   // 36 nets fit the real limit
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tiled = try Ngspice.run(netlist: text, in: dir, name: "t")
        let flat = try Ngspice.run(netlist: try NgspiceDialect().text(circuit, flat: true), in: dir, name: "f")
        #expect(Ngspice.problems(tiled.log).isEmpty, "\(Ngspice.problems(tiled.log))")
        let a = try #require(tiled.plots.first, "\(tiled.log)"), b = try #require(flat.plots.first, "\(flat.log)")
        for r in 0..<rows {
            let x = try #require(a.vector("i(vrow\(r))")).first ?? .nan, y = try #require(b.vector("i(vrow\(r))")).first ?? .nan
            #expect(abs(x - y) <= 1e-9 * abs(y), "row \(r): \(x) A tiled, \(y) A flat")
        }
    }

    @Test("the hierarchical and the flat netlist give the same transient in stock ngspice",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
    func sameTraces() throws {
        let m = try mapped()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hierarchical = try Ngspice.run(netlist: try NgspiceDialect().text(m.circuit), in: dir, name: "h")
        let flat = try Ngspice.run(netlist: try NgspiceDialect().text(m.circuit, flat: true), in: dir, name: "f")
        #expect(Ngspice.problems(hierarchical.log).isEmpty, "\(Ngspice.problems(hierarchical.log))")
        let h = try #require(hierarchical.plots.first, "\(hierarchical.log)"), f = try #require(flat.plots.first, "\(flat.log)")
        for o in m.observables {
            let a = try #require(h.vector(o.node.text.lowercased())), b = try #require(f.vector(o.node.text.lowercased()))
            let x = a.last ?? .nan, y = b.last ?? .nan
            #expect(abs(x - y) < 1e-9, "\(o.node): \(x) V hierarchical, \(y) V flat")
        }
    }

    @Test("cells written as one-sided current sources give the resistors' transient while ideal sources drive the lines; refused where they would not",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
    func oneSidedCells() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [4, 3, 2]
        c.activations = [.tanh, .linear]
        let net = try Network.initialized(c, seed: 5)
        func circuit(_ oneSided: Bool) throws -> MappedCircuit {
            var p = CircuitParameters()
            p.opAmp = .macromodel(OpAmpMacromodel(gain: 1e5, gbw: 1e7))
            p.device.levels = 64
            p.oneSidedCells = oneSided
            return try DFCCircuitMapper(configuration: c, parameters: p)
                .map(network: net, input: [0.3, -0.2, 0.1, 0.4], target: [0.1, -0.1], phase: .controlled)
        }
        let resistors = try circuit(false), sources = try circuit(true)
        let text = try NgspiceDialect().text(sources.circuit)
        #expect(text.contains("\nGr0_c0p 0 ") && !text.contains("\nRr0_c0p "))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try Ngspice.run(netlist: try NgspiceDialect().text(resistors.circuit), in: dir, name: "r")
        let b = try Ngspice.run(netlist: text, in: dir, name: "g")
        #expect(Ngspice.problems(b.log).isEmpty, "\(Ngspice.problems(b.log))")
        let pa = try #require(a.plots.first, "\(a.log)"), pb = try #require(b.plots.first, "\(b.log)")
        for o in resistors.observables {
            let x = try #require(pa.vector(o.node.text.lowercased())), y = try #require(pb.vector(o.node.text.lowercased()))
            #expect(abs((x.last ?? .nan) - (y.last ?? .nan)) < 1e-9, "\(o.node): \(x.last ?? .nan) V with resistors, \(y.last ?? .nan) V with sources")
        }
        for bad in [{ (p: inout CircuitParameters) in p.wire = CrossbarWires(rowSegment: 1) },
                    { (p: inout CircuitParameters) in p.device.readNoise = 0.01 },
                    { (p: inout CircuitParameters) in p.device.nonlinearityVoltage = 0.25 },
                    { (p: inout CircuitParameters) in p.opAmp = .cmosTwoStage(CMOSTwoStageOpAmp()) }] {
            var p = CircuitParameters()
            p.oneSidedCells = true
            bad(&p)
            #expect(throws: InvalidElementError.self) { try p.validate() }
        }
    }
}
