import Dispatch
import Foundation
import NumPyFormat
import Spice
import Testing

@Suite("Worker pool and the spice commands", .serialized)
struct WorkerPoolTests {
    let rc = ["rc", "V1 in 0 PWL(0 0 1u 1)", "R1 in out 1k", "C1 out 0 1u", ".tran 10u 5m", ".end"]

    @Test("two worker processes run requests in parallel and return what the embedded engine returns")
    func poolMatchesEmbedded() throws {
        let pool = try SpiceWorkerPool(workers: 2, executable: CLI.binary)
        let requests = (0..<6).map { k in
            SimulationRequest(netlist: rc, steps: [.command("alter R1 \(1 + k)k"), .analysis("run"), .capture("t")])
        }
        let results = ResultBox(count: requests.count)
        DispatchQueue.concurrentPerform(iterations: requests.count) { k in
            results.set(k, Result { try pool.simulate(requests[k]) })
        }
        for (k, request) in requests.enumerated() {
            let expected = try EmbeddedNgspice.shared.simulate(request)
            let got = try results.get(k).get()
            #expect(got.plots["t"]?.vector("out") == expected.plots["t"]?.vector("out"), "request \(k)")
            #expect(got.plots["t"]?.vector("time") == expected.plots["t"]?.vector("time"))
        }
        #expect(pool.engineSeconds > 0)
        // An error in one request comes back as that request's error; the worker carries on.
        #expect(throws: SimulationError.self) { try pool.simulate(SimulationRequest(netlist: ["bad", "X1 a b nosuch", ".tran 1u 1m", ".end"])) }
        #expect(try pool.simulate(requests[0]).plots["t"] != nil)
    }

    @Test("a circuit kept on a worker and continued with alter commands gives what loading the altered netlist gives")
    func continuation() throws {
        let pool = try SpiceWorkerPool(workers: 1, executable: CLI.binary)
        let gated = ["rc", ".param lvl=0", "V1 in 0 DC 0 PWL(0 0 1u {1*lvl})", "V2 b 0 DC 0.5", "R1 in out 1k", "R2 b out 2k", "C1 out 0 1u",
                     ".tran 10u 5m", ".end"]
        let continued = try pool.withWorker { worker -> SimulationResult in
            var first = SimulationRequest(netlist: gated, steps: [.analysis("op"), .capture("op")])
            first.keepLoaded = true
            let op = try worker.simulate(first)
            #expect(abs((op.plots["op"]?.vector("out")?.first ?? 0) - 0.5 / 3) < 1e-9)
            return try worker.simulate(SimulationRequest(netlist: [], steps: [.command("alter v1 pwl = [ 0 0 1u 1 ]"), .command("alter v2 dc = 0.25"),
                                                                              .analysis("run"), .capture("t")]))
        }
        var fresh = gated
        fresh[1] = ".param lvl=1"
        fresh[3] = "V2 b 0 DC 0.25"
        let expected = try pool.simulate(SimulationRequest(netlist: fresh, steps: [.analysis("run"), .capture("t")]))
        let a = try #require(continued.plots["t"]?.vector("out")), b = try #require(expected.plots["t"]?.vector("out"))
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 }, "continued and fresh transients differ")
        // Outside a session the pool refuses both halves; a continuation needs a kept circuit.
        var keep = SimulationRequest(netlist: gated, steps: [.analysis("op")])
        keep.keepLoaded = true
        #expect(throws: SimulationError.self) { try pool.simulate(keep) }
        #expect(throws: SimulationError.self) {
            try pool.withWorker { try $0.simulate(SimulationRequest(netlist: [], steps: [.analysis("run")])) }
        }
        #expect(throws: SimulationError.self) { try BatchNgspice().simulate(SimulationRequest(netlist: [], steps: [.analysis("run")])) }
    }

    @Test("simulate writes every vector; netlists with .control are refused unless allowed")
    func simulateCommand() throws {
        let w = try Workspace()
        defer { w.remove() }
        let netlist = CLI.repository.appendingPathComponent("netlists/two-two-one.cir").path
        for engine in ["embedded", "batch"] {
            let r = try CLI.run(["simulate", "--netlist", netlist, "--engine", engine, "--out", w.path("t-\(engine).npz")])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try NPZ(contentsOf: w.url("t-embedded.npz")), b = try NPZ(contentsOf: w.url("t-batch.npz"))
        #expect(a["time"] != nil && a["u0_p"] != nil)
        #expect(a["u0_p"] == b["u0_p"])
        try "evil\nV1 a 0 1\n.control\nshell touch \(w.path("pwned"))\n.endc\n.end\n".write(to: w.url("evil.cir"), atomically: true, encoding: .utf8)
        let refused = try CLI.run(["simulate", "--netlist", w.path("evil.cir"), "--out", w.path("e.npz")])
        #expect(refused.status != 0 && refused.stderr.hasPrefix("error:") && refused.stderr.contains(".control"), "\(refused.stderr)")
        #expect(!w.exists("pwned") && !w.exists("e.npz"))
    }

    @Test("compare writes an HTML report with its plots and JSON metrics")
    func compareCommand() throws {
        let w = try Workspace()
        defer { w.remove() }
        let r = try CLI.run(["compare", "--config", w.path("c.yaml"), "--model", w.path("m.npz"), "--input", w.path("x.npy"),
                             "--labels", w.path("y.npy"), "--sample", "1", "--out", w.path("cmp")])
        #expect(r.status == 0, "\(r.stderr)")
        for file in ["report.html", "report.json", "layer1-soma.svg", "controller-u.svg", "difference.svg"] {
            #expect(w.exists("cmp/\(file)"), "missing \(file)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: w.url("cmp/report.json"))) as? [String: Any]
        let comparison = json?["comparison"] as? [String: Any]
        #expect((comparison?["updateAngles"] as? [Double])?.count == 2)
        let html = try String(contentsOf: w.url("cmp/report.html"), encoding: .utf8)
        #expect(html.contains("<img src=\"layer1-soma.svg\""))
        // The report says which non-idealities were on (here: none of them).
        for row in ["op-amp</th><td>ideal VCVS", "drift</th><td>off", "wire resistance</th><td>off", "φ (tanh)</th><td>behavioral", "temperature</th><td>27.0 °C"] {
            #expect(html.contains(row), "the report lacks '\(row)'")
        }
        // Units said once; neurons numbered from 1 like layers; every large max/range explained.
        #expect(html.contains("V_s = 0.5 V"))
        let soma = try String(contentsOf: w.url("cmp/layer1-soma.svg"), encoding: .utf8)
        #expect(soma.contains(">v1[1]<") && !soma.contains(">v0<") && soma.contains("µs in the circuit"))
        for signal in comparison?["signals"] as? [[String: Any]] ?? [] where (signal["maxOverRange"] as? Double ?? 0) > 0.1 {
            let name = signal["signal"] as? String ?? "?"
            let notes = html.components(separatedBy: "<li>").dropFirst().map { String($0.prefix { $0 != ":" }) }
            #expect(notes.contains { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(name) },
                    "\(name)'s max/range is not explained")
        }
        // The demo's comparison carries the same header rows.
        let demo = try CLI.run(["demo", "--config", w.path("c.yaml"), "--samples", "4", "--out", w.path("demo")])
        #expect(demo.status == 0, "\(demo.stderr)")
        func headers(_ page: String) -> [String] {
            page.components(separatedBy: "<tr><th>").dropFirst().map { String($0.prefix { $0 != "<" }) }.filter { !$0.hasPrefix("signal") && !$0.hasPrefix("layer") }
        }
        let demoHTML = try String(contentsOf: w.url("demo/compare/report.html"), encoding: .utf8)
        #expect(headers(demoHTML) == headers(html))
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<SimulationResult, Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ r: Result<SimulationResult, Error>) { lock.withLock { results[k] = r } }
    func get(_ k: Int) throws -> Result<SimulationResult, Error> {
        try lock.withLock { try #require(results[k]) }
    }
}
