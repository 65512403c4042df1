import NetlistText
/// What to simulate: a netlist and the steps to take after loading it.
public struct SimulationRequest: Sendable {
    public enum Step: Sendable, Equatable {
        /// An ngspice command that changes the loaded circuit: `alter …`, `alterparam …`, `reset`.
        case command(String)
        /// An analysis: `op`, or `run` (the netlist's own `.tran`). Only `run` is subject to the time limit's halt.
        case analysis(String)
        /// Keep the current plot's vectors under this name.
        case capture(String)
    }

    /// The netlist, one line per element, ending with `.end`.
    public var netlist: [String]
    public var steps: [Step]
    /// Seconds the whole request may take.
    public var timeLimit: Double
    /// Leave the circuit loaded after this request, for a continuation: a next request with an
    /// empty `netlist` on the same worker (`SpiceWorkerPool.withWorker`) runs its steps on it.
    public var keepLoaded = false
    /// Whether this request continues the circuit the previous one kept loaded.
    public var isContinuation: Bool { netlist.isEmpty }

    public init(netlist: [String], steps: [Step] = [.analysis("run"), .capture("result")], timeLimit: Double = 60) {
        self.netlist = netlist
        self.steps = steps
        self.timeLimit = timeLimit
    }

    /// The checks both engines make before running anything, so they refuse the same
    /// requests with the same words: every command is an allowed one, and a `run` step has
    /// an analysis card in the netlist to run (without one, libngspice "runs" nothing and
    /// leaves only its constants plot, while `ngspice -b` fails on that plot).
    public func validate() throws {
        for case .command(let c) in steps where !Self.isAllowedCommand(c) {
            throw SimulationError(kind: .refused, message: "command '\(c.prefix(60))' is not one of alter, alterparam, reset, option", log: [])
        }
        if !isContinuation && steps.contains(.analysis("run")) && !netlist.dropFirst().contains(where: Self.isAnalysisCard) {
            throw SimulationError(kind: .syntax, message: "the netlist has no analysis card (.tran, .op, .dc, .ac, …) for 'run'", log: [])
        }
        for line in netlist.dropFirst() {
            let words = line.lowercased().split(whereSeparator: { " \t,".contains($0) })
            guard words.first == ".tran", words.count >= 3, let step = SpiceNumber.value(of: words[1]), let stop = SpiceNumber.value(of: words[2]) else { continue }
            // ngspice's largest internal step is at most the print step: 1e-40 over 1 ns
            // would be 10³¹ steps, a run that never ends and that no time limit should have to stop.
            guard step > 0, stop / step <= Self.maxTransientPoints else {
                throw SimulationError(kind: .refused, message: "'\(line.prefix(60))' asks for \(String(format: "%.3g", stop / step)) time points; at most \(String(format: "%.0e", Self.maxTransientPoints))", log: [])
            }
        }
    }

    /// Output points one `.tran` card may ask for.
    public static let maxTransientPoints = 1e8

    /// Whether a netlist line is an analysis card (its first word, as ngspice splits words).
    static func isAnalysisCard(_ line: String) -> Bool {
        let first = line.lowercased().trimmingCharacters(in: .whitespaces)
            .split(whereSeparator: { " \t;,=()".contains($0) }).first.map(String.init) ?? ""
        return [".tran", ".op", ".dc", ".ac", ".noise", ".pz", ".sens", ".tf", ".disto", ".pss", ".sp"].contains(first)
    }

    /// Lines the engine accepts as commands: the circuit-changing ones only, so a
    /// request can never run shell escapes or write files.
    static func isAllowedCommand(_ c: String) -> Bool {
        let first = c.split(separator: " ").first.map { $0.lowercased() } ?? ""
        return ["alter", "alterparam", "reset", "option", "options"].contains(first)
            && c.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f && $0 != ";" }
    }
}

/// Captured plots by name, and everything ngspice printed.
public struct SimulationResult: Sendable {
    public var plots: [String: RawPlot]
    public var log: [String]

    public func plot(_ name: String) throws -> RawPlot {
        guard let p = plots[name] else { throw SimulationError(kind: .missingVector, message: "no plot '\(name)' was captured", log: log) }
        return p
    }
}

/// A simulation that failed, with ngspice's own words.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case syntax = "netlist error"
        case convergence = "no convergence"
        case timeLimit = "time limit"
        case missingVector = "missing vector"
        case engine = "engine failure"
        case refused = "refused command"
    }
    public var kind: Kind
    public var message: String
    /// The lines of ngspice's output that explain it (errors and warnings first).
    public var log: [String]

    public init(kind: Kind, message: String, log: [String]) {
        self.kind = kind
        self.message = message
        self.log = log
    }

    public var description: String {
        let detail = SimulationError.relevant(log).prefix(3).joined(separator: " | ")
        return "ngspice \(kind.rawValue): \(message)" + (detail.isEmpty ? "" : " — ngspice said: \(detail)")
    }

    /// Log lines that report a problem.
    static func relevant(_ log: [String]) -> [String] {
        log.filter {
            let l = $0.lowercased()
            return l.contains("error") || l.contains("too small") || l.contains("aborted") || l.contains("singular")
                || l.contains("no convergence") || l.contains("unknown") || l.contains("not found") || l.contains("warning")
        }
    }

    /// Classifies a failed run from what ngspice printed.
    static func classify(_ log: [String], fallback: String) -> SimulationError {
        let text = log.joined(separator: "\n").lowercased()
        if text.contains("timestep too small") || text.contains("no convergence") || text.contains("gmin stepping failed")
            || text.contains("source stepping failed") || text.contains("iteration limit") {
            return SimulationError(kind: .convergence, message: fallback, log: log)
        }
        return SimulationError(kind: .syntax, message: fallback, log: log)
    }
}

/// An ngspice engine: embedded libngspice, or `ngspice -b` in a subprocess.
public protocol SpiceEngine: Sendable {
    func simulate(_ request: SimulationRequest) throws -> SimulationResult
}
