import CNgspice
import Foundation

/// State the C callbacks write into. libngspice calls them from its own threads,
/// so every access goes through the lock.
final class NgspiceCallbackState: @unchecked Sendable {
    static let shared = NgspiceCallbackState()
    private let lock = NSLock()
    private var lines: [String] = []
    private var exitedFlag = false
    private var backgroundRuns = 0
    private var backgroundEnds = 0

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    func takeLines() -> [String] { lock.withLock { defer { lines.removeAll(keepingCapacity: true) }; return lines } }
    func markExited() { lock.withLock { exitedFlag = true } }
    func takeExited() -> Bool { lock.withLock { defer { exitedFlag = false }; return exitedFlag } }
    func background(running: Bool) { lock.withLock { if running { backgroundRuns += 1 } else { backgroundEnds += 1 } } }
    var backgroundCounts: (runs: Int, ends: Int) { lock.withLock { (backgroundRuns, backgroundEnds) } }
}

private let sendChar: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, UnsafeMutableRawPointer?) -> Int32 = { text, _, _ in
    if let text { NgspiceCallbackState.shared.append(String(cString: text)) }
    return 0
}

private let sendStatus: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _ in 0 }

/// ngspice asks to exit (a `quit`, or an error it cannot recover from). The library
/// never calls exit() itself; we note it and initialize afresh before the next run.
private let controlledExit: @convention(c) (Int32, Bool, Bool, Int32, UnsafeMutableRawPointer?) -> Int32 = { status, _, _, _, _ in
    NgspiceCallbackState.shared.append("stderr ngspice requested exit with status \(status)")
    NgspiceCallbackState.shared.markExited()
    return 0
}

/// `noRun` is true when the background thread stops, false when it starts.
private let backgroundThread: @convention(c) (Bool, Int32, UnsafeMutableRawPointer?) -> Int32 = { noRun, _, _ in
    NgspiceCallbackState.shared.background(running: !noRun)
    return 0
}

/// libngspice inside this process: no process start-up and no raw file per run.
///
/// The library is one instance per process and not re-entrant, so every request runs
/// on one serial queue. Circuits and plots are freed after every run (`destroy all`,
/// `remcirc`) so memory stays flat over thousands of runs. Transients run on
/// ngspice's background thread so that a run past its time limit can be halted.
public final class EmbeddedNgspice: SpiceEngine, @unchecked Sendable {
    public static let shared = EmbeddedNgspice()

    private let queue = DispatchQueue(label: "dfcspice.embedded-ngspice")
    private var initialized = false
    /// Set once ngspice has asked to exit: the library's state is gone and it cannot be
    /// initialized again in this process, so every later request fails fast with an
    /// `.engine` error and `FallbackEngine` carries on out of process.
    public private(set) var dead = false

    private init() {}

    /// A circuit left loaded by a `keepLoaded` request, waiting for its continuation.
    private var kept = false

    public func simulate(_ request: SimulationRequest) throws -> SimulationResult {
        try queue.sync { try simulateLocked(request) }
    }

    /// Circuits ngspice still holds (should be 0 between requests).
    public func loadedCircuitCount() -> Int {
        queue.sync {
            if dead { return 0 }
            ensureInitialized()
            _ = NgspiceCallbackState.shared.takeLines()
            command("listing")   // harmless probe: with no circuit ngspice says so
            let lines = NgspiceCallbackState.shared.takeLines()
            return lines.contains { $0.lowercased().contains("no circuit loaded") || $0.lowercased().contains("there is no circuit") } ? 0 : 1
        }
    }

    /// Loads a netlist and leaves it loaded (to test `loadedCircuitCount`); `clearForTesting` removes it.
    public func loadOnlyForTesting(_ netlist: [String]) {
        queue.sync {
            ensureInitialized()
            _ = load(netlist)
            _ = NgspiceCallbackState.shared.takeLines()
        }
    }

    public func clearForTesting() {
        queue.sync {
            command("destroy all")
            command("remcirc")
            _ = NgspiceCallbackState.shared.takeLines()
        }
    }

    /// Sends `quit`, which makes ngspice call its exit callback (for the tests of that path).
    public func sendQuitForTesting() {
        queue.sync {
            ensureInitialized()
            command("quit")
            _ = NgspiceCallbackState.shared.takeLines()
            if NgspiceCallbackState.shared.takeExited() { dead = true }
        }
    }

    private func ensureInitialized() {
        if NgspiceCallbackState.shared.takeExited() { dead = true }
        guard !initialized else { return }
        _ = ngSpice_Init(sendChar, sendStatus, controlledExit, nil, nil, backgroundThread, nil)
        initialized = true
        _ = NgspiceCallbackState.shared.takeLines()
    }

    /// Hands the netlist to ngspice; ngSpice_Circ copies the lines, so ours are freed right after.
    private func load(_ lines: [String]) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = lines.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return ngSpice_Circ(&pointers)
    }

    @discardableResult
    private func command(_ text: String) -> Int32 {
        text.withCString { ngSpice_Command(UnsafeMutablePointer(mutating: $0)) }
    }

    private func simulateLocked(_ request: SimulationRequest) throws -> SimulationResult {
        ensureInitialized()
        if dead {
            throw SimulationError(kind: .engine, message: "the embedded ngspice has exited and cannot restart in this process", log: [])
        }
        var log: [String] = []
        func drain() -> [String] {
            let new = NgspiceCallbackState.shared.takeLines()
            log += new
            return new
        }
        _ = NgspiceCallbackState.shared.takeLines()
        try request.validate()
        let started = Date()
        let continuing = request.isContinuation
        if continuing {
            guard kept else {
                throw SimulationError(kind: .refused, message: "a continuation needs a circuit kept loaded by the request before it", log: [])
            }
        } else if kept {
            // A kept circuit whose continuation never came: freed before the next one loads.
            command("destroy all")
            command("remcirc")
            _ = NgspiceCallbackState.shared.takeLines()
        }
        kept = false
        var keep = false
        defer {
            if keep {
                kept = true
            } else {
                command("destroy all")
                command("remcirc")
                _ = NgspiceCallbackState.shared.takeLines()
            }
        }

        if !continuing {
            let loaded = load(request.netlist)
            let loadLines = drain()
            if loaded != 0 || loadLines.contains(where: { $0.hasPrefix("stderr Error") || $0.lowercased().contains("error on line") })
                || NgspiceCallbackState.shared.takeExited() {
                throw SimulationError(kind: .syntax, message: "the netlist did not load", log: log)
            }
        }

        var plots: [String: RawPlot] = [:]
        for step in request.steps {
            switch step {
            case .command(let c):
                command(c)
                if drain().contains(where: { $0.hasPrefix("stderr Error") }) {
                    throw SimulationError(kind: .syntax, message: "command '\(c)' failed", log: log)
                }
            case .analysis(let a) where a == "run":
                let before = NgspiceCallbackState.shared.backgroundCounts
                command("bg_run")
                let remaining = request.timeLimit - Date().timeIntervalSince(started)
                let deadline = Date().addingTimeInterval(max(0, remaining))
                var halted = false
                while true {
                    let now = NgspiceCallbackState.shared.backgroundCounts
                    if now.ends > before.ends { break }
                    if Date() > deadline {
                        command("bg_halt")
                        // Wait for the thread to stop before freeing the circuit.
                        let grace = Date().addingTimeInterval(10)
                        while NgspiceCallbackState.shared.backgroundCounts.ends == before.ends && Date() < grace { usleep(200) }
                        halted = true
                        break
                    }
                    usleep(100)
                }
                let lines = drain()
                if halted {
                    throw SimulationError(kind: .timeLimit, message: "halted after \(String(format: "%.1f", request.timeLimit)) s", log: log)
                }
                if Self.failed(lines) {
                    throw SimulationError.classify(log, fallback: "the transient did not complete")
                }
            case .analysis(let a):
                guard ["op", "tran", "dc", "ac"].contains(a.split(separator: " ").first.map(String.init) ?? "") else {
                    throw SimulationError(kind: .refused, message: "analysis '\(a)' is not supported", log: log)
                }
                command(a)
                if Self.failed(drain()) {
                    throw SimulationError.classify(log, fallback: "the analysis '\(a)' did not complete")
                }
            case .capture(let name):
                plots[name] = try currentPlot(log: log)
            }
            if NgspiceCallbackState.shared.takeExited() {
                dead = true
                throw SimulationError(kind: .engine, message: "ngspice asked to exit", log: log)
            }
        }
        // Only a request that succeeded leaves its circuit for a continuation.
        keep = request.keepLoaded
        return SimulationResult(plots: plots, log: log)
    }

    static func failed(_ lines: [String]) -> Bool {
        lines.contains {
            let l = $0.lowercased()
            return (l.hasPrefix("stderr") && (l.contains("error") || l.contains("aborted") || l.contains("too small")))
                || l.contains("simulation(s) aborted") || l.contains("run simulation(s) aborted")
        }
    }

    /// The current plot's real vectors.
    private func currentPlot(log: [String]) throws -> RawPlot {
        guard let plotPointer = ngSpice_CurPlot() else {
            throw SimulationError(kind: .missingVector, message: "no current plot", log: log)
        }
        let plot = String(cString: plotPointer)
        var names: [String] = []
        var values: [[Double]] = []
        if let list = ngSpice_AllVecs(plotPointer) {
            var k = 0
            while let p = list[k] {
                let name = String(cString: p)
                k += 1
                let full = "\(plot).\(name)"
                guard let info = full.withCString({ ngGet_Vec_Info(UnsafeMutablePointer(mutating: $0)) }),
                      let data = info.pointee.v_realdata else { continue }
                let n = Int(info.pointee.v_length)
                names.append(RawPlot.normalized(name))
                values.append(Array(UnsafeBufferPointer(start: data, count: n)))
            }
        }
        guard !names.isEmpty else { throw SimulationError(kind: .missingVector, message: "plot '\(plot)' has no real vectors", log: log) }
        return RawPlot(title: "", name: plot, names: names, values: values)
    }
}

/// Runs on `primary` and, when it fails as an engine (it died, it was never there),
/// carries the request over to `fallback`. Netlist, convergence and time-limit errors
/// are the circuit's, not the engine's, and are passed on unchanged.
public struct FallbackEngine: SpiceEngine {
    public var primary: any SpiceEngine
    public var fallback: any SpiceEngine

    public init(primary: any SpiceEngine = EmbeddedNgspice.shared, fallback: any SpiceEngine = BatchNgspice()) {
        self.primary = primary
        self.fallback = fallback
    }

    public func simulate(_ request: SimulationRequest) throws -> SimulationResult {
        do { return try primary.simulate(request) } catch let e as SimulationError where e.kind == .engine {
            return try fallback.simulate(request)
        }
    }
}
