import Circuit
import Foundation
import Testing

@Suite("Transistor-level activation", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
struct ActivationCircuitTests {
    /// A DC sweep of the pair's subcircuit alone: (input volts, output volts).
    func sweep(_ pair: any TransistorActivation, s: Double, celsius: Double? = nil) throws -> [(Double, Double)] {
        let d = NgspiceDialect()
        let sub = pair.subcircuit(signalScale: s)
        var lines = ["pair sweep"] + pair.models.map(d.modelCard) + [d.subcircuitHeader(sub)]
        for e in sub.elements { lines += d.lines(for: e, opAmp: .ideal(gain: 1e5)) }
        lines += [d.subcircuitEnd(sub), "Xphi in out \(pair.subcircuitName)", "Vin in 0 DC 0", ".dc Vin -1.5 1.5 0.025"]
        if let celsius { lines.append(".options temp=\(celsius)") }
        lines.append(".end")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: lines.joined(separator: "\n") + "\n", in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        let x = try #require(plot.vector("v-sweep") ?? plot.vector("vin") ?? plot.vector("in"), "\(plot.names)")
        let y = try #require(plot.vector("out"), "\(plot.names)")
        #expect(Ngspice.problems(run.log).isEmpty, "\(Ngspice.problems(run.log))")
        return Array(zip(x, y))
    }

    @Test("the differential pair's transfer curve is s·tanh(V/s) (Ebers–Moll) at the nominal 27 °C")
    func tanhFromTwoTransistors() throws {
        let s = 0.5
        let points = try sweep(BJTPairActivation(), s: s)
        #expect(points.count > 100)
        let worst = points.map { abs($0.1 - s * Foundation.tanh($0.0 / s)) }.max() ?? .infinity
        #expect(worst < 1e-3 * s, "largest departure from s·tanh(V/s): \(worst) V")
    }

    @Test("at 75 °C the slope follows V_T = kT/q: s·tanh(V/s · V_T(27 °C)/V_T(75 °C))")
    func temperature() throws {
        let s = 0.5
        let points = try sweep(BJTPairActivation(), s: s, celsius: 75)
        let ratio = BJTPairActivation.thermalVoltage(celsius: 27) / BJTPairActivation.thermalVoltage(celsius: 75)
        let worst = points.map { abs($0.1 - s * Foundation.tanh($0.0 / s * ratio)) }.max() ?? .infinity
        #expect(worst < 2e-3 * s, "largest departure: \(worst) V")
        // And it differs visibly from the 27 °C curve.
        let shift = points.map { abs($0.1 - s * Foundation.tanh($0.0 / s)) }.max() ?? 0
        #expect(shift > 10 * worst, "75 °C moved the curve by \(shift) V only")
    }

    @Test("the MOS pair's transfer curve is s·(v/2)√(4 − v²), saturating at |v| = √2 (square law), and not tanh")
    func mosPair() throws {
        let s = 0.5
        let pair = MOSPairActivation()
        let points = try sweep(pair, s: s)
        #expect(points.count > 100)
        let worst = points.map { abs($0.1 - s * pair.closedForm($0.0 / s)) }.max() ?? .infinity
        #expect(worst < 1e-4 * s, "largest departure from the square law: \(worst) V")
        let fromTanh = points.map { abs($0.1 - s * Foundation.tanh($0.0 / s)) }.max() ?? 0
        #expect(fromTanh > 0.1 * s, "the MOS pair should saturate harder than tanh; departs by \(fromTanh) V only")
        #expect(MOSPairActivation(aspectRatio: 0).problem?.key == "aspectRatio")
        #expect(MOSPairActivation(tailCurrent: 1e-3, loadResistance: 1e4).problem?.key == "loadResistance")
    }

    @Test("bad pair parameters are refused naming the key")
    func validation() {
        #expect(BJTPairActivation(tailCurrent: -1).problem?.key == "tailCurrent")
        #expect(BJTPairActivation(tailCurrent: 1e-3, loadResistance: 1e4).problem?.key == "loadResistance")
        #expect(BJTPairActivation().problem == nil)
    }
}
