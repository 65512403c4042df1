import Foundation
import Testing

@Suite("dfcspice di")
struct InversionCommandTests {
    @Test("di trains every rule from one initial network and writes metrics, plots and a summary")
    func runsRules() throws {
        let w = try Workspace()
        defer { w.remove() }
        try """
        name: di-tiny
        seed: 2
        network: {sizes: [6, 5, 4], activations: [tanh, linear], loss: mse}
        dynamicInversion: {alpha: 0.1, steps: 300, rules: [bp, ndi, di, sldi]}
        training: {learningRate: 0.003, batchSize: 4, epochs: 3, trainSamples: 40, testSamples: 20}
        """.write(to: w.url("d.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["di", "--config", w.path("d.yaml"), "--out", w.path("out")])
        #expect(r.status == 0, "\(r.stderr)")
        for rule in ["bp", "ndi", "di", "sldi"] {
            let lines = try String(contentsOf: w.url("out/\(rule)/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 4, "\(rule): \(lines.count) epochs recorded")
        }
        for file in ["nmse.svg", "max-eigenvalue.svg", "angle-di-ndi.svg", "summary.md"] {
            #expect(FileManager.default.fileExists(atPath: w.path("out/\(file)")), "\(file) missing")
        }
        // NDI and DI train the same network to the Euler error.
        let summary = try String(contentsOf: w.url("out/summary.md"), encoding: .utf8)
        let ends = summary.split(separator: "\n").filter { $0.hasPrefix("| ndi ") || $0.hasPrefix("| di ") }.map { $0.split(separator: "|")[3] }
        #expect(ends.count == 2 && ends[0] == ends[1], "\(summary)")
        // stdout: one line per rule and the summary table, not one line per rule per epoch.
        let out = r.stdout.split(separator: "\n")
        #expect(out.filter { $0.contains(" epoch ") }.isEmpty, "\(r.stdout)")
        for rule in ["bp", "ndi", "di", "sldi"] {
            #expect(out.contains { $0.hasPrefix("\(rule): 3 epochs, test NMSE ") }, "\(rule) has no summary line")
        }
        #expect(r.stdout.contains(summary.trimmingCharacters(in: .newlines)))
    }

    @Test("compare on a DI config runs the backward pass in ngspice against NDI; DFC-only options are refused")
    func compareInversion() throws {
        let w = try Workspace()
        defer { w.remove() }
        try """
        seed: 4
        network: {sizes: [8, 6, 4], activations: [tanh, linear], loss: mse}
        dynamicInversion: {alpha: 0.1}
        """.write(to: w.url("d.yaml"), atomically: true, encoding: .utf8)
        for args in [["init", "--config", w.path("d.yaml"), "--out", w.path("m.npz")],
                     ["teacher", "--config", w.path("d.yaml"), "--samples", "3", "--input", w.path("x.npy"), "--labels", w.path("y.npy")]] {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args[0]): \(r.stderr)")
        }
        let common = ["compare", "--config", w.path("d.yaml"), "--model", w.path("m.npz"), "--input", w.path("x.npy"), "--labels", w.path("y.npy")]
        let r = try CLI.run(common + ["--sample", "1", "--out", w.path("out")])
        #expect(r.status == 0, "\(r.stderr)")
        for file in ["report.html", "comparison.json", "traces.svg"] {
            #expect(FileManager.default.fileExists(atPath: w.path("out/\(file)")), "\(file) missing")
        }
        struct Report: Decodable { struct Row: Decodable { var layer: Int; var circuitVsNDI: Double }; var layers: [Row] }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: w.url("out/comparison.json")))
        #expect(report.layers.count == 1 && report.layers[0].circuitVsNDI < 1e-3, "\(report.layers.map(\.circuitVsNDI))")
        let refused = try CLI.run(common + ["--ideal-refine", "2", "--out", w.path("out2")])
        #expect(refused.status != 0 && refused.stderr.hasPrefix("error:") && refused.stderr.contains("dynamicInversion"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out2")))
    }

    @Test("an expanding layer with α = 0 is refused before any run, with one error line")
    func refusesSingularSetup() throws {
        let w = try Workspace()
        defer { w.remove() }
        try """
        network: {sizes: [5, 4, 8], activations: [linear, linear], loss: mse}
        dynamicInversion: {alpha: 0, rules: [ndi]}
        training: {epochs: 1, trainSamples: 10, testSamples: 5}
        """.write(to: w.url("bad.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["di", "--config", w.path("bad.yaml"), "--out", w.path("out")])
        #expect(r.status != 0)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains("layer 2") && errors[0].contains("alpha"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")), "a refused run must not create its output directory")
        let unknown = try CLI.run(["di", "--config", w.path("bad.yaml"), "--rules", "nope", "--out", w.path("out2")])
        #expect(unknown.status != 0)
    }
}
