import Circuit
import DFC
import Foundation
import LinearAlgebra
import Spice
import Testing
import Training

func studentTeacherConfiguration() -> Configuration {
    var c = Configuration()
    c.name = "student-teacher"
    c.sizes = [15, 10, 10, 5]
    c.activations = [.tanh, .tanh, .linear]
    c.feedbackInit = .weightProduct
    c.control.steps = 100
    return c
}

@Suite("Circuits in stock ngspice", .serialized)
struct OperatingPointTests {
    /// Largest |v_i(circuit) − v_i(ideal)| over all neurons, feedforward phase, read from `ngspice -b`.
    func feedforwardError(trim: Bool, samples: Int) throws -> Double {
        let c = studentTeacherConfiguration()
        let net = try Network.initialized(c, seed: 42)
        let (x, y) = try StudentTeacher(configuration: c, seed: 7).samples(samples, seed: 8)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var parameters = CircuitParameters()
        parameters.trimFiniteGain = trim
        let mapper = try DFCCircuitMapper(configuration: c, parameters: parameters)
        let solver = try Solver(network: net, configuration: c)
        var worst = 0.0
        for s in 0..<samples {
            let xs = x.rows(s..<(s + 1))
            let ff = net.forward(xs)
            let target = solver.target(feedforward: ff, labels: y.rows(s..<(s + 1))).target
            let mapped = try mapper.map(network: net, input: xs.storage, target: target.storage, phase: .feedforward)
            let run = try Ngspice.run(netlist: try NgspiceDialect().text(mapped.circuit), in: dir)
            #expect(run.status == 0, "ngspice failed: \(run.log.suffix(500))")
            #expect(Ngspice.problems(run.log).isEmpty, "\(Ngspice.problems(run.log))")
            let plot = try #require(run.plots.last)
            for o in mapped.observables {
                guard case .soma(let layer, let neuron) = o.signal else { continue }
                let volts = try #require(plot.vector(o.node.text)?.first, "no vector for \(o.node)")
                worst = max(worst, abs(volts * o.scale - ff.potentials[layer - 1][0, neuron]))
            }
            // u stays 0 in the feedforward phase, all the way through the transient.
            for k in 0..<5 {
                let u = try #require(plot.vector("u\(k)_p"))
                #expect(u.allSatisfy { abs($0) < 1e-9 }, "u\(k) moved in the feedforward phase")
            }
        }
        return worst
    }

    @Test("feedforward operating point equals the ideal feedforward pass to 1e-4 (ideal op-amps, A = 1e5, gain trim)")
    func feedforwardOperatingPoint() throws {
        let error = try feedforwardError(trim: true, samples: 4)
        #expect(error <= 1e-4, "max |v(circuit) − v(ideal)| = \(error)")
    }

    @Test("without the trim the finite gain shows, at the size (noise gain)/A predicts")
    func finiteGainWithoutTrim() throws {
        let error = try feedforwardError(trim: false, samples: 2)
        // Each stage loses ≈ (1 + Σ|w|)/A ≈ 1e-5…1e-4 of |v|; three layers, |v| ≲ 3.
        #expect(error > 1e-6 && error < 1e-3, "untrimmed error \(error)")
    }
}

@Suite("Circuit IR in ngspice", .serialized)
struct CircuitIRTests {
    func name(_ s: String) -> SpiceName { SpiceName(exactly: s)! }

    @Test("a subcircuit instance, a PWL source and a behavioural source simulate as written")
    func subcircuitInstance() throws {
        var c = Circuit(title: "divider")
        c.subcircuits = [Subcircuit(name: name("half"), ports: [name("a"), name("b")],
                                    elements: [.resistor(name("top"), name("a"), name("b"), ohms: 1e3),
                                               .resistor(name("bottom"), name("b"), .ground, ohms: 1e3)])]
        c.elements = [
            .voltageSource(name("in"), name("n1"), .ground, .pwl([(0, 1), (1e-3, 2)], parameterScaled: nil)),
            .instance(name("div"), nodes: [name("n1"), name("n2")], subcircuit: name("half")),
            .behavioralVoltage(name("sq"), name("n3"), .ground, expression: "V(n2)*V(n2)"),
        ]
        c.directives = [.save([name("n2"), name("n3")]), .transient(step: 1e-5, stop: 1e-3, maxStep: nil)]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: try NgspiceDialect().text(c), in: dir)
        #expect(run.status == 0 && Ngspice.problems(run.log).isEmpty, "\(run.log.suffix(300))")
        let plot = try #require(run.plots.last)
        let n2 = try #require(plot.vector("n2")), n3 = try #require(plot.vector("n3"))
        #expect(abs(n2.first! - 0.5) < 1e-9 && abs(n2.last! - 1.0) < 1e-9)
        // A nonlinear source in a transient is only as exact as Newton's stopping rule
        // (ngspice's default reltol = 1e-3).
        #expect(abs(n3.last! - 1.0) < 1e-3)
        var bad = c
        bad.elements.append(.instance(name("div2"), nodes: [name("n1")], subcircuit: name("half")))
        #expect(throws: InvalidElementError.self) { try bad.validate() }
    }

    @Test("with σ > 0 every soma gets a TRNOISE source and the controlled transient fluctuates")
    func noiseSources() throws {
        var c = studentTeacherConfiguration()
        c.sizes = [2, 2, 1]
        c.activations = [.tanh, .linear]
        c.control.sigma = 0.05
        let net = try Network.initialized(c, seed: 5)
        let mapped = try DFCCircuitMapper(configuration: c, parameters: CircuitParameters())
            .map(network: net, input: [0.3, -0.4], target: [0.1], phase: .controlled)
        let text = try NgspiceDialect().text(mapped.circuit)
        #expect(text.components(separatedBy: "TRNOISE").count - 1 == 3)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: text, in: dir)
        #expect(run.status == 0 && Ngspice.problems(run.log).isEmpty, "\(run.log.suffix(300))")
        let soma = try #require(run.plots.last?.vector("l1_n0_soma"))
        let tail = soma.suffix(soma.count / 2)
        let mean = tail.reduce(0, +) / Double(tail.count)
        let spread = (tail.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(tail.count)).squareRoot()
        #expect(spread > 1e-4, "soma voltage spread \(spread) V")
    }
}
