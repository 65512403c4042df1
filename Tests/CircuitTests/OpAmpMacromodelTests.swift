import Circuit
import Foundation
import LinearAlgebra
import Testing

/// The op-amp macromodel against its closed forms, measured by stock ngspice.
@Suite("Op-amp macromodel", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
struct OpAmpMacromodelTests {
    /// A netlist around one `opamp_mm` instance `X1 inp inn out`.
    func netlist(_ m: OpAmpMacromodel, body: [String], instance: String = "X1 inp inn out opamp_mm", tail: [String]) -> String {
        (["op-amp macromodel test"] + NgspiceDialect().definitions(for: .macromodel(m)) + [instance] + body + tail + [".end"])
            .joined(separator: "\n") + "\n"
    }

    /// `RESULT a b c` lines printed by a test's own control block.
    func results(_ log: String) -> [[Double]] {
        log.split(separator: "\n").filter { $0.hasPrefix("RESULT") }.map { $0.split(separator: " ").dropFirst().compactMap { Double($0) } }
    }

    @Test("open-loop gain and phase follow A₀/(1 + j f/f_p) in an ngspice AC analysis")
    func openLoopResponse() throws {
        let m = OpAmpMacromodel(gain: 1e5, gbw: 1e6)   // f_p = 10 Hz
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = netlist(m, body: ["Vin inp 0 DC 0 AC 1", "Rn inn 0 1"], tail: [
            ".control", "foreach f 1 10 100 10000 1e6", "ac lin 1 $f $f", "let g = mag(v(out))", "let p = ph(v(out))",
            "echo RESULT $f $&g $&p", "end", ".endc",
        ])
        let run = try Ngspice.run(netlist: text, in: dir)
        let rows = results(run.log)
        try #require(rows.count == 5, "\(run.log)")
        for row in rows {
            let f = row[0], fp = m.pole
            let gain = m.gain / (1 + (f / fp) * (f / fp)).squareRoot()
            let phase = -Foundation.atan(f / fp)
            #expect(abs(row[1] / gain - 1) < 1e-3, "|A(\(f) Hz)| = \(row[1]), expected \(gain)")
            #expect(abs(row[2] - phase) < 1e-3, "∠A(\(f) Hz) = \(row[2]) rad, expected \(phase)")
        }
        #expect(Ngspice.problems(run.log).filter { !$0.contains("RESULT") }.isEmpty, "\(Ngspice.problems(run.log))")
    }

    @Test("a follower's output slews at the slew rate, then settles; the output stays within its swing")
    func slewAndSwing() throws {
        let m = OpAmpMacromodel(gain: 1e5, gbw: 1e7, slewRate: 1e6, swing: 2.5)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A 1 V step into a follower: 1 µs of slewing at 1 V/µs.
        let follower = netlist(m, body: ["Vin inp 0 PWL(0 0 1n 1)"], instance: "X1 inp out out opamp_mm", tail: [".tran 5n 3u 0 5n"])
        let run = try Ngspice.run(netlist: follower, in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        let t = try #require(plot.vector("time")), v = try #require(plot.vector("out"))
        // The slew rate as a datasheet measures it: the 20 %–80 % swing over its time.
        func crossing(_ level: Double) -> Double? {
            guard let k = v.indices.first(where: { $0 > 0 && v[$0] >= level }) else { return nil }
            return t[k - 1] + (level - v[k - 1]) / (v[k] - v[k - 1]) * (t[k] - t[k - 1])
        }
        let t20 = try #require(crossing(0.2)), t80 = try #require(crossing(0.8))
        let slew = 0.6 / (t80 - t20)
        #expect(abs(slew / m.slewRate - 1) < 0.01, "20–80 % slew \(slew) V/s against SR \(m.slewRate)")
        let halfway = try #require(t.firstIndex { $0 >= 0.5e-6 })
        #expect(abs(v[halfway] - 0.5) < 0.02, "v(0.5 µs) = \(v[halfway]), slewing from 0 to 1 V in 1 µs")
        #expect(abs((v.last ?? 0) - 1) < 1e-3)
        // Open loop, ±1 mV in: A₀·1 mV = 100 V, clamped to the swing.
        for (input, expected) in [(1e-3, 2.5), (-1e-3, -2.5)] {
            let open = netlist(m, body: ["Vin inp 0 DC \(input)", "Rn inn 0 1"], tail: [".op"])
            let op = try Ngspice.run(netlist: open, in: dir, name: "open")
            let out = try #require(op.plots.first?.vector("out")?.first, "\(op.log)")
            #expect(abs(out - expected) < 1e-9, "\(out)")
        }
    }

    @Test("offsets: drawn per instance from the seed (reproducible, distinct, σ as asked); a follower of 0 V outputs its offset")
    func offsets() throws {
        let m = OpAmpMacromodel(offsetSigma: 2e-3, seed: 11)
        let names = (0..<4000).map { "L1_N\($0)_somaIntegrator" }
        let draws = names.map(m.offset(of:))
        #expect(draws == names.map(m.offset(of:)))
        var other = m
        other.seed = 12
        #expect(draws != names.map(other.offset(of:)))
        #expect(Set(draws).count == draws.count)
        let mean = draws.reduce(0, +) / Double(draws.count)
        let sigma = (draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count - 1)).squareRoot()
        // 4000 draws: the sample σ is within 5 % of σ with probability > 0.998.
        #expect(abs(sigma / m.offsetSigma - 1) < 0.05, "σ = \(sigma)")
        #expect(abs(mean) < 4 * m.offsetSigma / Double(draws.count).squareRoot(), "mean \(mean)")
        #expect(OpAmpMacromodel(offsetSigma: 0).offset(of: "X") == 0)

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = NgspiceDialect().lines(for: .opAmp(.sanitized("U1"), plus: .sanitized("inp"), minus: .sanitized("out"), output: .sanitized("out")),
                                          opAmp: .macromodel(m))
        let text = netlist(m, body: ["Vin inp 0 DC 0"], instance: line.joined(separator: "\n"), tail: [".op"])
        let run = try Ngspice.run(netlist: text, in: dir)
        let out = try #require(run.plots.first?.vector("out")?.first, "\(run.log)")
        // v_out = −V_os·A/(1 + A): the offset, within 1/A.
        #expect(abs(abs(out) - abs(m.offset(of: "U1"))) < 1e-5 * abs(m.offset(of: "U1")) + 1e-12, "out \(out), V_os \(m.offset(of: "U1"))")
    }

    @Test("bias current: a follower fed through 1 MΩ outputs −I_b·R")
    func biasCurrent() throws {
        let m = OpAmpMacromodel(biasCurrent: 50e-9)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = netlist(m, body: ["Rs inp 0 1e6"], instance: "X1 inp out out opamp_mm", tail: [".op"])
        let run = try Ngspice.run(netlist: text, in: dir)
        let out = try #require(run.plots.first?.vector("out")?.first, "\(run.log)")
        #expect(abs(out - (-50e-9 * 1e6)) < 1e-4 * 50e-3, "\(out)")
    }
}
