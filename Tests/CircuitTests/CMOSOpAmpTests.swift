import Circuit
import Foundation
import Testing
import Training

/// The two-stage CMOS op-amp in ngspice against its square-law design equations.
@Suite("Two-stage CMOS op-amp", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
struct CMOSOpAmpTests {
    /// Open loop for AC, closed for DC: 1 GΩ and 1 F feed the output back to inn below 1e-9 Hz.
    func run(_ o: CMOSTwoStageOpAmp, load: Double?) throws -> (a0: Double, ugf: Double, phase: Double, offset: Double, log: String) {
        var lines = ["cmos op-amp open loop"] + o.definition
        lines += ["X1 inp inn out opamp_cmos", "Vin inp 0 DC 0 AC 1", "Rf out inn 1G", "Cf inn 0 1"]
        if let load { lines.append("Rl out 0 \(load)") }
        lines += [".control", "op", "let vo = v(out)", "echo RESULT_OP $&vo", "ac dec 20 1 1e9", "let g = db(v(out))",
                  "let ph = 180/pi*cph(v(out))", "meas ac a0 find g at=1", "meas ac ugf when g=0", "meas ac pm find ph when g=0",
                  "echo RESULT_AC $&a0 $&ugf $&pm", ".endc", ".end"]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Ngspice.run(netlist: lines.joined(separator: "\n") + "\n", in: dir)
        func values(_ tag: String) -> [Double] {
            r.log.split(separator: "\n").first { $0.hasPrefix(tag) }.map { $0.split(separator: " ").dropFirst().compactMap { Double($0) } } ?? []
        }
        let op = values("RESULT_OP"), ac = values("RESULT_AC")
        try #require(op.count == 1 && ac.count == 3, "\(r.log)")
        return (Foundation.pow(10, ac[0] / 20), ac[1], ac[2], op[0], r.log)
    }

    @Test("unloaded: A₀ and GBW within 15 % of the square-law design, 90° phase margin, no systematic offset")
    func openLoop() throws {
        let o = CMOSTwoStageOpAmp()
        let m = try run(o, load: nil)
        #expect(abs(m.a0 / o.estimatedGain - 1) < 0.15, "A0 \(m.a0), design \(o.estimatedGain)")
        #expect(abs(m.ugf / o.estimatedGBW - 1) < 0.15, "unity-gain frequency \(m.ugf) Hz, design GBW \(o.estimatedGBW) Hz")
        // Phase at unity gain ≈ −90°: the second pole and the Miller zero (nulled by R_z) sit far above.
        #expect(m.phase > -100 && m.phase < -80, "phase at unity gain \(m.phase)°: margin \(180 + m.phase)°")
        #expect(abs(m.offset) < 1e-6, "output of a follower of 0 V: \(m.offset) V")
    }

    @Test("a 10 kΩ load (the stages' resistors) lowers A₀ by the second stage's output resistance, not GBW")
    func loaded() throws {
        let o = CMOSTwoStageOpAmp()
        let free = try run(o, load: nil), loaded = try run(o, load: 1e4)
        let rOut = (1 + o.lambdaP * 5) / (o.lambdaP * o.outputCurrent)
        let expected = free.a0 * (1e4 / (1e4 + rOut))
        #expect(abs(loaded.a0 / expected - 1) < 0.15, "loaded A0 \(loaded.a0), expected \(expected)")
        #expect(abs(loaded.ugf / free.ugf - 1) < 0.05)
    }

    @Test("config: model cmos-two-stage with its currents; datasheet keys are refused naming the key")
    func config() throws {
        let base = "name: o\nnetwork: {sizes: [2, 2, 1]}\ncircuit: {opamp: "
        let e = try ConfigurationLoader.parseExperiment(base + "{model: cmos-two-stage, outputCurrent: 1e-3}}")
        guard case .cmosTwoStage(let o) = e.circuit.opAmp else { Issue.record("\(e.circuit.opAmp)"); return }
        #expect(o.outputCurrent == 1e-3)
        for (text, key) in [("{model: cmos-two-stage, gbw: 1e7}", "circuit.opamp.gbw"), ("{model: cmos-two-stage, compensation: 0}", "circuit.opamp.compensation")] {
            do {
                _ = try ConfigurationLoader.parseExperiment(base + text + "}")
                Issue.record("\(text) accepted")
            } catch { #expect("\(error)".contains(key), "\(error)") }
        }
    }
}
