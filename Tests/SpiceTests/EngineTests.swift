import Foundation
import NetlistText
@testable import Spice
import Testing

/// An RC low-pass driven by a step: v(out) = 1 − exp(−t/RC), RC = 1 ms.
let rcNetlist = [
    "rc low-pass",
    "V1 in 0 PWL(0 0 1u 1)",
    "R1 in out 1k",
    "C1 out 0 1u",
    ".tran 10u 5m",
    ".end",
]

/// Runs one suite of this test bundle in a child process (the suite is enabled there by
/// the environment variable), returning its exit status and output.
func runScenario(_ suite: String, enabledBy variable: String) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    p.arguments = ["--testing-library", "swift-testing", "--filter", "SpiceTests.\(suite)"]
    var env = ProcessInfo.processInfo.environment
    env[variable] = "1"
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, log)
}

let engines: [(String, any SpiceEngine)] = [("embedded", EmbeddedNgspice.shared), ("batch", BatchNgspice())]

@Suite("ngspice engines", .serialized)
struct EngineTests {
    @Test("both engines solve an RC step against its closed form", arguments: [0, 1])
    func rcStep(engine: Int) throws {
        let (name, e) = engines[engine]
        let r = try e.simulate(SimulationRequest(netlist: rcNetlist))
        let plot = try r.plot("result")
        let t = try #require(plot.vector("time")), v = try #require(plot.vector("out"))
        #expect(t.count > 100, "\(name)")
        for (ti, vi) in zip(t, v) where ti > 1e-4 {
            #expect(abs(vi - (1 - Foundation.exp(-(ti - 1e-6) / 1e-3))) < 2e-3, "\(name) at t = \(ti)")
        }
    }

    @Test("embedded and batch engines give the same traces, operating point included")
    func enginesAgree() throws {
        let steps: [SimulationRequest.Step] = [.analysis("op"), .capture("op"), .command("alter R1 2k"), .analysis("run"), .capture("tran")]
        let a = try EmbeddedNgspice.shared.simulate(SimulationRequest(netlist: rcNetlist, steps: steps))
        let b = try BatchNgspice().simulate(SimulationRequest(netlist: rcNetlist, steps: steps))
        let ta = try #require(a.plots["tran"]?.vector("time")), tb = try #require(b.plots["tran"]?.vector("time"))
        #expect(ta == tb)
        let va = try #require(a.plots["tran"]?.vector("out")), vb = try #require(b.plots["tran"]?.vector("v(out)"))
        #expect(va == vb)
        // The alter took effect: RC = 2 ms.
        let k = try #require(ta.firstIndex { $0 >= 2e-3 })
        #expect(abs(va[k] - (1 - Foundation.exp(-(ta[k] - 1e-6) / 2e-3))) < 2e-3)
        #expect(a.plots["op"]?.vector("out") != nil)
    }

    @Test("an ngspice syntax error is reported with ngspice's message and the next run works", arguments: [0, 1])
    func syntaxError(engine: Int) throws {
        let (name, e) = engines[engine]
        let bad = ["bad", "V1 in 0 DC 1", "X1 in out nosuch", "R1 in 0 1k", ".tran 1u 1m", ".end"]
        do {
            _ = try e.simulate(SimulationRequest(netlist: bad))
            Issue.record("\(name): accepted a broken netlist")
        } catch let error as SimulationError {
            #expect(error.kind == .syntax, "\(name): \(error)")
            #expect(!error.log.isEmpty)
        }
        #expect(try e.simulate(SimulationRequest(netlist: rcNetlist)).plots["result"] != nil)
    }

    @Test("both engines refuse a netlist with no analysis to run, in the same words, and the next run works")
    func noAnalysis() throws {
        let netlist = ["no analysis", "V1 in 0 DC 1", "R1 in 0 1k", "* .tran 1u 1m is commented out", ".end"]
        var messages: [String] = []
        for (name, e) in engines {
            do {
                _ = try e.simulate(SimulationRequest(netlist: netlist))
                Issue.record("\(name): ran a netlist with no analysis")
            } catch let error as SimulationError {
                #expect(error.kind == .syntax, "\(name): \(error)")
                messages.append(error.description)
            }
            #expect(try e.simulate(SimulationRequest(netlist: rcNetlist)).plots["result"] != nil)
        }
        #expect(messages.count == 2 && messages[0] == messages[1], "\(messages)")
        #expect(messages.first?.contains("no analysis card") == true)
    }

    @Test("a circuit that cannot converge is a convergence error, and the next run works", arguments: [0, 1])
    func nonConvergence(engine: Int) throws {
        let (name, e) = engines[engine]
        // Two ideal voltage sources fighting through a diode-less loop: no DC solution.
        let bad = ["clash", "V1 a 0 DC 1", "V2 a 0 DC 2", "R1 a 0 1k", ".tran 1u 1m", ".end"]
        do {
            _ = try e.simulate(SimulationRequest(netlist: bad))
            Issue.record("\(name): a contradictory circuit simulated")
        } catch let error as SimulationError {
            #expect([.convergence, .syntax].contains(error.kind), "\(name): \(error)")
            #expect(error.description.contains("ngspice said"), "\(error)")
        }
        #expect(try e.simulate(SimulationRequest(netlist: rcNetlist)).plots["result"] != nil)
    }

    @Test("a run past its time limit is halted, and the next run works", arguments: [0, 1])
    func timeLimit(engine: Int) throws {
        let (name, e) = engines[engine]
        // Ten billion internal steps (largest step 1 ns) of a fast oscillator: far longer than
        // 0.3 s. The print step of 1 µs keeps it under the output-point bound that refuses
        // absurd .tran cards outright (`SimulationRequest.maxTransientPoints`).
        let slow = ["slow", "V1 in 0 SIN(0 1 1e6)", "R1 in out 1k", "C1 out 0 1n", ".tran 1u 10 0 1n", ".end"]
        let start = Date()
        do {
            _ = try e.simulate(SimulationRequest(netlist: slow, timeLimit: 0.3))
            Issue.record("\(name): ran to the end")
        } catch let error as SimulationError {
            #expect(error.kind == .timeLimit, "\(name): \(error)")
        }
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(try e.simulate(SimulationRequest(netlist: rcNetlist)).plots["result"] != nil)
    }

    @Test("a .tran card asking for more than 10^8 output points is refused before ngspice runs", arguments: [0, 1])
    func absurdTransient(engine: Int) throws {
        let (name, e) = engines[engine]
        let start = Date()
        for card in [".tran 1e-40 1e-9", ".tran 1n 10", ".TRAN 1f 1meg"] {
            do {
                _ = try e.simulate(SimulationRequest(netlist: ["absurd", "V1 a 0 1", "R1 a 0 1k", card, ".end"], timeLimit: 600))
                Issue.record("\(name): ran '\(card)'")
            } catch let error as SimulationError {
                #expect(error.kind == .refused && error.message.contains("time points"), "\(name): \(error)")
            }
        }
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test("SPICE numbers with scale suffixes", arguments: [("1k", 1e3), ("2.5meg", 2.5e6), ("10u", 1e-5), ("3p", 3e-12), ("1e-40", 1e-40),
                                                          ("5ms", 5e-3), ("2MEG", 2e6), ("1mil", 25.4e-6), ("7", 7), ("1e3k", 1e6)])
    func spiceNumbers(text: String, value: Double) {
        let parsed = SpiceNumber.value(of: text)
        #expect(parsed.map { abs($0 - value) <= 1e-12 * abs(value) } == true, "\(text) → \(String(describing: parsed))")
    }

    @Test("asking for a vector that is not there names it")
    func missingVector() throws {
        let r = try EmbeddedNgspice.shared.simulate(SimulationRequest(netlist: rcNetlist))
        #expect(try r.plot("result").vector("nowhere") == nil)
        #expect(throws: SimulationError.self) { try r.plot("other") }
    }

    @Test("commands that are not alter, alterparam, reset or option are refused")
    func refusedCommands() {
        for engine in engines.map(\.1) {
            #expect(throws: SimulationError.self) {
                try engine.simulate(SimulationRequest(netlist: rcNetlist, steps: [.command("shell ls"), .analysis("run")]))
            }
        }
        #expect(throws: SimulationError.self) { try NetlistSafety.check(["t", ".control", "shell ls", ".endc"]) }
    }

    @Test("ngspice asking to exit does not end the process; the fallback engine carries on")
    func controlledExit() throws {
        // A separate process, because the library cannot be used again after `quit`.
        let (status, log) = try runScenario("QuitScenario", enabledBy: "DFCSPICE_QUIT_SCENARIO")
        #expect(status == 0, "\(log.suffix(800))")
        #expect(log.contains("QUIT SCENARIO OK"), "\(log.suffix(800))")
    }
}

/// Runs only in the child process started by `controlledExit`.
@Suite("QuitScenario", .enabled(if: ProcessInfo.processInfo.environment["DFCSPICE_QUIT_SCENARIO"] == "1"))
struct QuitScenario {
    @Test func quitThenFallback() throws {
        #expect(try EmbeddedNgspice.shared.simulate(SimulationRequest(netlist: rcNetlist)).plots["result"] != nil)
        EmbeddedNgspice.shared.sendQuitForTesting()
        #expect(EmbeddedNgspice.shared.dead)
        do {
            _ = try EmbeddedNgspice.shared.simulate(SimulationRequest(netlist: rcNetlist))
            Issue.record("a dead engine ran")
        } catch let e as SimulationError {
            #expect(e.kind == .engine)
        }
        let r = try FallbackEngine().simulate(SimulationRequest(netlist: rcNetlist))
        #expect(r.plots["result"]?.vector("out") != nil)
        print("QUIT SCENARIO OK")
    }
}

/// Resident memory of this process in MB, from /proc.
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

@Suite("Embedded engine over many runs", .serialized)
struct EngineMemoryTests {
    @Test("1000 consecutive embedded runs: resident memory grows less than 20 MB and no circuit stays loaded")
    func memoryStaysFlat() throws {
        // In a process of its own: other suites run in parallel in this one and their
        // allocations (a data set, big matrices) would be counted as growth.
        let (status, log) = try runScenario("MemoryScenario", enabledBy: "DFCSPICE_MEMORY_SCENARIO")
        #expect(status == 0, "\(log.suffix(800))")
        let line = try #require(log.split(separator: "\n").first { $0.hasPrefix("RSS growth") }, "\(log.suffix(800))")
        let growth = try #require(Double(line.split(separator: " ")[2]))
        #expect(growth < 20, "RSS grew \(growth) MB over 1000 runs")
    }
}

/// Runs only in the child process started by `memoryStaysFlat`.
@Suite("MemoryScenario", .enabled(if: ProcessInfo.processInfo.environment["DFCSPICE_MEMORY_SCENARIO"] == "1"))
struct MemoryScenario {
    @Test func thousandRuns() throws {
        let request = SimulationRequest(netlist: rcNetlist, steps: [.analysis("op"), .command("alter R1 1.5k"), .analysis("run"), .capture("t")])
        for _ in 0..<50 { _ = try EmbeddedNgspice.shared.simulate(request) }   // warm-up: allocator pools, first plots
        let before = residentMegabytes()
        for k in 0..<1000 {
            let r = try EmbeddedNgspice.shared.simulate(request)
            if k % 250 == 0 { #expect(r.plots["t"]?.vector("out")?.count ?? 0 > 100) }
        }
        let growth = residentMegabytes() - before
        print("RSS growth \(String(format: "%.2f", growth)) MB")
        #expect(EmbeddedNgspice.shared.loadedCircuitCount() == 0)
        // The probe does see a circuit that stays loaded.
        EmbeddedNgspice.shared.loadOnlyForTesting(rcNetlist)
        #expect(EmbeddedNgspice.shared.loadedCircuitCount() == 1)
        EmbeddedNgspice.shared.clearForTesting()
        #expect(EmbeddedNgspice.shared.loadedCircuitCount() == 0)
    }
}
