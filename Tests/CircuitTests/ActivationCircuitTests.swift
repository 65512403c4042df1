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
        lines.append(d.subcircuitEnd(sub))
        for e in pair.instance(name: { SpiceName.sanitized($0) }, node: { SpiceName.sanitized($0) }, input: SpiceName.sanitized("in"), output: SpiceName.sanitized("out"), signalScale: s) {
            lines += d.lines(for: e, opAmp: .ideal(gain: 1e5))
        }
        lines += ["Vin in 0 DC 0", ".dc Vin -1.5 1.5 0.025"]
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

    @Test("the BSIM4 pair (PTM 45 nm) is odd, has slope 1 at 0 at its calibrated gate gain, is tanh-like and saturates")
    func bsim4Pair() throws {
        let s = 0.5
        let points = try sweep(BSIM4PairActivation(), s: s)
        #expect(points.count > 100)
        let phi = points.map { (v: $0.0 / s, phi: $0.1 / s) }
        // Slope at 0 by a centred difference over ±0.05 units.
        let near = phi.filter { abs($0.v) < 0.051 }
        let slope = try #require(near.last.map { l in (l.phi - near[0].phi) / (l.v - near[0].v) })
        #expect(abs(slope - 1) < 0.02, "φ'(0) = \(slope)")
        // Odd by the differential drive: φ(−v) = −φ(v) point by point (the sweep is symmetric),
        // to the Newton iteration's tolerance (1e-5 here); driving one gate alone lets the common
        // source move and the tail's output resistance tilt the curve far more than that.
        let oddness = zip(phi, phi.reversed()).map { abs($0.phi + $1.phi) }.max() ?? .infinity
        #expect(oddness < 1e-4, "φ(v) + φ(−v) up to \(oddness)")
        let fromTanh = phi.map { abs($0.phi - Foundation.tanh($0.v)) }.max() ?? .infinity
        #expect(fromTanh < 0.05 && fromTanh > 1e-3, "largest departure from tanh \(fromTanh)")
        let ends = try #require(phi.last)
        #expect(abs(ends.phi - 0.98) < 0.03, "φ(\(ends.v)) = \(ends.phi)")
        // Hot silicon: BSIM4's mobility and threshold move with T, and the slope with them.
        let hot = try sweep(BSIM4PairActivation(), s: s, celsius: 85)
        let hotNear = hot.filter { abs($0.0 / s) < 0.051 }
        let hotSlope = (hotNear[hotNear.count - 1].1 - hotNear[0].1) / (hotNear[hotNear.count - 1].0 - hotNear[0].0)
        #expect(hotSlope < 0.95, "φ'(0) at 85 °C = \(hotSlope)")
        #expect(BSIM4PairActivation(tailCurrent: 1e-4, loadResistance: 1e4).problem?.key == "loadResistance")
        #expect(BSIM4PairActivation(gateGain: .nan).problem?.key == "gateGain")
        #expect(BSIM4PairActivation().problem == nil)
    }

    @Test("with circuit stages (resistor reference, divider, op-amp difference amplifier) each pair keeps its closed form within 0.1 % of s",
          arguments: [PairStages.ideal, .circuit])
    func circuitStages(stages: PairStages) throws {
        let s = 0.5
        let bjt = try sweep(BJTPairActivation(stages: stages), s: s)
        let mos = MOSPairActivation(stages: stages)
        let square = try sweep(mos, s: s)
        let bound = 1e-3
        let worstBJT = bjt.map { abs($0.1 - s * Foundation.tanh($0.0 / s)) }.max() ?? .infinity
        let worstMOS = square.map { abs($0.1 - s * mos.closedForm($0.0 / s)) }.max() ?? .infinity
        #expect(worstBJT < bound * s && worstMOS < bound * s, "largest departures: BJT \(worstBJT) V, MOS \(worstMOS) V")
        // The stages add no offset: φ(0) = 0 to the solver's tolerance.
        for points in [bjt, square] {
            let zero = try #require(points.min { abs($0.0) < abs($1.0) })
            #expect(abs(zero.1) < 1e-4 * s, "φ(0) = \(zero.1 / s)")
        }
    }

    @Test("bad pair parameters are refused naming the key")
    func validation() {
        #expect(BJTPairActivation(tailCurrent: -1).problem?.key == "tailCurrent")
        #expect(BJTPairActivation(tailCurrent: 1e-3, loadResistance: 1e4).problem?.key == "loadResistance")
        #expect(BJTPairActivation().problem == nil)
    }
}
