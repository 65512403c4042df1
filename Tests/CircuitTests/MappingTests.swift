import Circuit
import DFC
import Foundation
import LinearAlgebra
import Testing
import Training

/// Resistor values by name, read back from netlist text.
func resistors(in netlist: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in netlist.split(separator: "\n") where line.hasPrefix("R") {
        let f = line.split(separator: " ")
        if f.count == 4, let v = NgspiceDialect.value(of: f[3]) { out[String(f[0])] = v }
    }
    return out
}

@Suite("Mapping and device model")
struct MappingTests {
    @Test("6-bit quantization: realised weights are within half a level of the request and match the netlist's resistors")
    func quantization() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [4, 3, 2]
        c.activations = [.tanh, .linear]
        let net = try Network.initialized(c, seed: 3)
        var p = CircuitParameters()
        p.device.levels = 64
        let mapped = try DFCCircuitMapper(configuration: c, parameters: p)
            .map(network: net, input: [0.1, -0.2, 0.3, 0.4], target: [0, 0], phase: .controlled)
        let text = try NgspiceDialect().text(mapped.circuit, flat: true)
        let r = resistors(in: text)
        let levelStep = p.device.levelStep
        for i in 0..<net.depth {
            let requested = Matrix.hstack([net.weights[i], Matrix(column: net.biases[i])])
            let realised = Matrix.hstack([mapped.realised.weights[i], Matrix(column: mapped.realised.biases[i])])
            let gUnit = mapped.gUnitForward[i]
            for row in 0..<requested.rows {
                for col in 0..<requested.columns {
                    let halfLevel = levelStep / 2 / gUnit
                    #expect(abs(realised[row, col] - requested[row, col]) <= halfLevel * (1 + 1e-9))
                    // From the netlist: w = (1/R⁺ − 1/R⁻)/G_unit. The netlist spells each R to nine
                    // digits (within 5e-9 relative, HierarchyTests), which bounds the difference.
                    let gp = 1 / (try #require(r["RW\(i + 1)_r\(row)_c\(col)p"]))
                    let gn = 1 / (try #require(r["RW\(i + 1)_r\(row)_c\(col)n"]))
                    #expect(abs((gp - gn) / gUnit - realised[row, col]) <= 5e-9 * (gp + gn) / gUnit * (1 + 1e-6))
                    // Both devices sit on a level.
                    for g in [gp, gn] {
                        let level = (g - p.device.gMin) / levelStep
                        #expect(abs(level - level.rounded()) < 1e-6)
                    }
                }
            }
            for row in 0..<net.feedback[i].rows {
                for col in 0..<net.feedback[i].columns {
                    let gp = 1 / (try #require(r["RQ\(i + 1)_r\(row)_c\(col)p"]))
                    let gn = 1 / (try #require(r["RQ\(i + 1)_r\(row)_c\(col)n"]))
                    #expect(abs((gp - gn) / mapped.gUnitFeedback[i] - mapped.realised.feedback[i][row, col])
                            <= 5e-9 * (gp + gn) / mapped.gUnitFeedback[i] * (1 + 1e-6))
                    #expect(abs(mapped.realised.feedback[i][row, col] - net.feedback[i][row, col]) <= levelStep / 2 / mapped.gUnitFeedback[i] * (1 + 1e-9))
                }
            }
        }
    }

    @Test("programming noise and stuck cells are seeded, bounded and counted")
    func deviceNonIdealities() {
        var d = DeviceModel()
        d.programmingNoise = 0.02
        d.stuckOnFraction = 0.05
        d.stuckOffFraction = 0.05
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 1)
        var w = SeededGenerator(seed: 2)
        let weights = Matrix.gaussian(rows: 20, columns: 30, std: 0.5, using: &w)
        let a = d.program(weights, using: &g1), b = d.program(weights, using: &g2)
        #expect(a.realised == b.realised)
        #expect(a.gPlus.storage.allSatisfy { $0 >= d.gMin && $0 <= d.gMax })
        #expect(a.gMinus.storage.allSatisfy { $0 >= d.gMin && $0 <= d.gMax })
        // ~10 % of 1200 devices stuck.
        #expect(a.stuckDevices > 60 && a.stuckDevices < 190, "\(a.stuckDevices) stuck")
        d.wMax = 0.5
        var g3 = SeededGenerator(seed: 1)
        #expect(d.program(weights, using: &g3).clipped > 0)
    }

    @Test("an array keeps its realisation until its values change; another round draws anew; reuse equals reprogramming")
    func programmingFollowsValues() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [5, 12, 10, 2]
        c.activations = [.tanh, .tanh, .linear]
        var p = CircuitParameters()
        p.device.levels = 64
        p.device.programmingNoise = 0.02
        // Stuck-on cells sit at gMax, which no requested weight reaches with w_max = 100.
        p.device.stuckOnFraction = 0.05
        p.device.wMax = 100
        let mapper = try DFCCircuitMapper(configuration: c, parameters: p)
        let net = try Network.initialized(c, seed: 4)
        let first = mapper.programArrays(network: net)
        #expect(mapper.programArrays(network: net).realised == first.realised)
        // Only W_2 changes (as after a forward step that left the rest, or a feedback pass's Q).
        var changed = net
        changed.weights[1][0, 0] += 0.01
        let fresh = mapper.programArrays(network: changed)
        let reused = mapper.programArrays(network: changed, reusing: (net, first))
        for i in 0..<net.depth {
            #expect(reused.forward[i].gPlus == fresh.forward[i].gPlus && reused.forward[i].gMinus == fresh.forward[i].gMinus)
            #expect(reused.feedback[i].gPlus == fresh.feedback[i].gPlus && reused.feedback[i].gMinus == fresh.feedback[i].gMinus)
            #expect(fresh.realised.feedback[i] == first.realised.feedback[i], "Q_\(i + 1) was not rewritten")
            if i != 1 {
                #expect(fresh.realised.weights[i] == first.realised.weights[i] && fresh.realised.biases[i] == first.realised.biases[i])
            }
        }
        #expect(reused.realised == fresh.realised && reused.stuck == fresh.stuck)
        // W_2 got new noise, not just its one new value: most of its other entries moved too.
        let w2 = fresh.realised.weights[1].storage, w1 = first.realised.weights[1].storage
        #expect(zip(w2.dropFirst(), w1.dropFirst()).filter { $0 != $1 }.count > w1.count / 2)
        // Its stuck cells stay stuck, in the same places.
        func stuckCells(_ a: ProgrammedArray) -> [Int] {
            (a.gPlus.storage + a.gMinus.storage).indices.filter { (a.gPlus.storage + a.gMinus.storage)[$0] == p.device.gMax }
        }
        #expect(!stuckCells(first.forward[1]).isEmpty && stuckCells(first.forward[1]) == stuckCells(fresh.forward[1]))
        // A second round programs the same values with other noise, everywhere.
        let round1 = mapper.programArrays(network: net, programmingRound: 1)
        for i in 0..<net.depth {
            #expect(round1.realised.weights[i] != first.realised.weights[i] && round1.realised.feedback[i] != first.realised.feedback[i])
        }
        // Arrays of another round are not reused.
        #expect(mapper.programArrays(network: net, reusing: (net, round1)).realised == first.realised)
    }

    @Test("arrayShapes names each programmed array's shape, in device-stream order")
    func arrayShapes() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [5, 4, 3, 2]
        c.activations = [.tanh, .tanh, .linear]
        let net = try Network.initialized(c, seed: 8)
        let arrays = try DFCCircuitMapper(configuration: c, parameters: CircuitParameters()).programArrays(network: net).arrays
        let shapes = ProgrammedNetwork.arrayShapes(of: net)
        #expect(shapes.count == arrays.count)
        for (shape, array) in zip(shapes, arrays) {
            #expect(shape.rows == array.gPlus.rows && shape.columns == array.gPlus.columns)
        }
        #expect(shapes.first.map { $0.rows == 4 && $0.columns == 6 } == true, "[W_1 | b_1] is 4 × (5 + 1)")
    }

    @Test("hostile text in a config never reaches the netlist raw")
    func hostileNames() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [2, 2, 1]
        c.activations = [.tanh, .linear]
        c.name = "evil name; \"quoted\" 'x'\n.control\nshell rm -rf /\n.endc\r\n* \u{0}é"
        let net = try Network.initialized(c, seed: 3)
        let mapped = try DFCCircuitMapper(configuration: c, parameters: CircuitParameters())
            .map(network: net, input: [0.1, 0.2], target: [0], phase: .controlled)
        let text = try NgspiceDialect().text(mapped.circuit)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(!lines.contains { $0.lowercased().hasPrefix(".control") || $0.lowercased().hasPrefix("shell") || $0.lowercased().hasPrefix(".endc") })
        #expect(text.unicodeScalars.allSatisfy { ($0.value >= 0x20 && $0.value < 0x7f) || $0 == "\n" })
        #expect(lines[0].contains("evil name"))
        #expect(SpiceName.sanitized("a b;c\n.control").text == "a_b_c__control")
        #expect(SpiceName.sanitized("7up").text == "x7up")
        #expect(SpiceName(exactly: "ok_name") != nil && SpiceName(exactly: "bad name") == nil)
    }

    @Test("user netlist fragments with control blocks or shell escapes are refused unless allowed", arguments: [
        ".control", "  .CONTROL", "shell ls", ".include /etc/passwd", ".tran 1 2", "R1 a b 1\n.endc", "x \u{1b}[31m",
        "*# shell ls", "*ng_script", ".op", "R1 a b 1\r.control",
    ])
    func unsafeFragments(line: String) throws {
        #expect(throws: UnsafeFragmentError.self) { try checkFragment([line], allowUnsafe: false) }
    }

    @Test("safe fragments pass and are written before the analysis")
    func safeFragments() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [2, 1]
        c.activations = [.linear]
        var p = CircuitParameters()
        p.include = [".options reltol=1e-4", ".model dsw sw vt=0.5"]
        let mapped = try DFCCircuitMapper(configuration: c, parameters: p)
            .map(network: try Network.initialized(c, seed: 1), input: [0, 1], target: [0], phase: .feedforward)
        let text = try NgspiceDialect().text(mapped.circuit)
        let lines = text.split(separator: "\n").map(String.init)
        let include = try #require(lines.firstIndex(of: ".options reltol=1e-4"))
        let tran = try #require(lines.firstIndex { $0.hasPrefix(".tran") })
        #expect(include < tran)
    }

    @Test("negative, zero, NaN and infinite component values are refused, naming the element", arguments: [
        -1.0, 0, .nan, .infinity,
    ])
    func badValues(value: Double) throws {
        var circuit = Circuit(title: "t")
        circuit.elements = [.resistor(SpiceName(exactly: "R_ok")!, SpiceName(exactly: "a")!, .ground, ohms: 1e3),
                            .capacitor(SpiceName(exactly: "Cbad")!, SpiceName(exactly: "a")!, .ground, farads: value)]
        do {
            _ = try NgspiceDialect().text(circuit)
            Issue.record("accepted capacitance \(value)")
        } catch let e as InvalidElementError {
            #expect(e.element == "Cbad")
        }
        // And through the config: a zero or negative resistance choice.
        var p = CircuitParameters()
        p.somaResistance = value
        #expect(throws: InvalidElementError.self) { try p.validate() }
    }

    @Test("the written file appears whole or not at all")
    func atomicFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var circuit = Circuit(title: "t")
        circuit.elements = [.resistor(SpiceName(exactly: "bad")!, SpiceName(exactly: "a")!, .ground, ohms: -5)]
        let path = dir.appendingPathComponent("x.cir").path
        #expect(throws: InvalidElementError.self) { try NgspiceDialect().write(circuit, toFile: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
