import Circuit
import Foundation
import Spice
import Testing
import Training

@Suite("Converters")
struct ConverterTests {
    @Test("a b-bit quantizer has 2^b − 1 levels k·q, rounds to the nearest, clips at ±range")
    func levels() {
        let q = Quantizer(bits: 4, range: 1.4)
        #expect(abs(q.step - 0.2) < 1e-15)
        var seen = Set<Double>()
        for k in -300...300 {
            let x = Double(k) / 100
            let y = q(x)
            seen.insert((y / q.step).rounded())
            if abs(x) <= 1.4 { #expect(abs(y - x) <= q.step / 2 + 1e-12, "\(x) → \(y)") } else { #expect(abs(y) == 1.4) }
        }
        #expect(seen.count == 15)
    }

    @Test("the quantizer in ngspice gives the codes of Quantizer away from its 2 % risers",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
    func inNgspice() throws {
        let q = Quantizer(bits: 5, range: 2)
        let s = 0.5
        var circuit = Circuit(title: "quantizer sweep")
        circuit.elements = [.voltageSource(.sanitized("in"), .sanitized("a"), .ground, .dc(0)),
                            .behavioralVoltage(.sanitized("q"), .sanitized("q"), .ground, expression: q.expression(of: .sanitized("a"), signalScale: s)),
                            .resistor(.sanitized("load"), .sanitized("q"), .ground, ohms: 1e3)]
        var text = try NgspiceDialect().text(circuit, flat: true)
        text = text.replacingOccurrences(of: ".end\n", with: ".dc Vin -1.5 1.5 0.001\n.end\n")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: text, in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        let v = try #require(plot.vector("v(a)")), out = try #require(plot.vector("v(q)"))
        var checked = 0
        for (a, y) in zip(v, out) {
            let f = (a / s / q.step) - (a / s / q.step).rounded(.down)
            guard abs(f - 0.5) > Quantizer.transitionWidth else { continue }
            #expect(abs(y - s * q(a / s)) < 1e-9, "V = \(a): \(y), expected \(s * q(a / s))")
            checked += 1
        }
        #expect(checked > 2500)
        #expect(Ngspice.problems(run.log).isEmpty, "\(Ngspice.problems(run.log))")
    }

    @Test("bad converter keys end in one error naming the key")
    func badKeys() {
        let base = "name: q\nnetwork: {sizes: [2, 2, 1]}\ncircuit: {converters: "
        for (text, key) in [("{read: {bits: 1}}", "circuit.converters.read.bits"), ("{write: {range: 2}}", "circuit.converters.write.bits"),
                            ("{input: {bits: 8, range: -1}}", "circuit.converters.input.range"), ("{adc: {bits: 8}}", "circuit.converters")] {
            do {
                _ = try ConfigurationLoader.parseExperiment(base + text + "}")
                Issue.record("\(text) was accepted")
            } catch {
                #expect("\(error)".contains(key), "\(text): \(error)")
            }
        }
    }
}
