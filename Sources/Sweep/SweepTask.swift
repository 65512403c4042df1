import Emulation
import Foundation
import NumPyFormat
import Training

/// What a finished point leaves: its values, the figures of its command's output, its seeds.
public struct PointResult: Codable, Sendable, Equatable {
    public var index: Int
    public var values: [String]
    public var metrics: [String: Double]
    public var seconds: Double
    public var host: String
    public var finished: String
}

/// Why a point failed: the command's exit status and its last `error:` line (the whole output
/// stays in the point's log.txt).
public struct PointFailure: Codable, Sendable {
    public var index: Int
    public var status: Int32
    public var error: String
    public var log: String
    public var host: String
    public var finished: String
}

/// Where a point is running: the host and process, and the Slurm job if any.
public struct PointRunning: Codable, Sendable {
    public var host: String
    public var pid: Int32
    public var slurmJob: String?
    public var started: String
}

enum PointFile {
    static let result = "result.json", failed = "failed.json", running = "running.json", log = "log.txt"
}

public enum SweepTask {
    /// Runs the points `indices` of the sweep in `directory` that have no result yet, one after
    /// the other, each as `executable` with the point's command line; returns the points that failed.
    public static func run(directory: URL, indices: [Int], executable: URL) throws -> [Int] {
        let manifest = try SweepManifest.load(directory: directory)
        var failed: [Int] = []
        for index in indices {
            guard (0..<manifest.points).contains(index) else {
                throw InputError(file: directory.path, "has no point \(index) (points 0…\(manifest.points - 1))")
            }
            let p = SweepManifest.pointDirectory(directory, index)
            if FileManager.default.fileExists(atPath: p.appendingPathComponent(PointFile.result).path) { continue }
            if Interruption.shared.requested { break }
            if try !runPoint(manifest, index: index, directory: p, executable: executable) { failed.append(index) }
        }
        return failed
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
    static var host: String { ProcessInfo.processInfo.hostName }

    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let e = EvaluationReport.encoder
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try e.encode(value), to: url)
    }

    /// One point: its command in a child process, output to log.txt; result.json on success,
    /// failed.json (and the log kept) otherwise.
    static func runPoint(_ manifest: SweepManifest, index: Int, directory p: URL, executable: URL) throws -> Bool {
        let fm = FileManager.default
        let started = Date()
        let slurmJob = ProcessInfo.processInfo.environment["SLURM_ARRAY_JOB_ID"].map { job in
            "\(job)_\(ProcessInfo.processInfo.environment["SLURM_ARRAY_TASK_ID"] ?? "?")"
        }
        try write(PointRunning(host: host, pid: getpid(), slurmJob: slurmJob, started: now()), to: p.appendingPathComponent(PointFile.running))
        defer { try? fm.removeItem(at: p.appendingPathComponent(PointFile.running)) }
        try? fm.removeItem(at: p.appendingPathComponent(PointFile.failed))
        let out = p.appendingPathComponent("out")
        // A new run starts clean (a train run's directory is kept: it resumes).
        if manifest.command != .train { try? fm.removeItem(at: out) }
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        let args = manifest.arguments(index: index, config: p.appendingPathComponent("config.yaml").path)
            + manifest.outputArguments(pointDirectory: p)
        let logURL = p.appendingPathComponent(PointFile.log)
        // A file that cannot be made shows up as FileHandle's error just below.
        if !fm.fileExists(atPath: logURL.path) { _ = fm.createFile(atPath: logURL.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        log.seekToEndOfFile()
        log.write(Data("== \(now()) on \(host)\(slurmJob.map { " (Slurm \($0))" } ?? ""): dfcspice \(args.joined(separator: " "))\n".utf8))
        let stdoutURL = out.appendingPathComponent("stdout.txt")
        _ = fm.createFile(atPath: stdoutURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.standardOutput = stdout
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Interruption.shared.register(process.processIdentifier)
        process.waitUntilExit()
        Interruption.shared.unregister(process.processIdentifier)
        try? stdout.close()
        let printed = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
        log.write(Data(printed.utf8))
        let status = process.terminationStatus
        func fail(_ reason: String) throws -> Bool {
            log.write(Data("== failed: \(reason)\n".utf8))
            try write(PointFailure(index: index, status: status, error: reason, log: logURL.path, host: host, finished: now()),
                      to: p.appendingPathComponent(PointFile.failed))
            return false
        }
        if Interruption.shared.requested || (process.terminationReason == .exit && status == 130) {
            return try fail("interrupted (SIGINT or SIGTERM)" + (manifest.command == .train ? "; the run resumes from its checkpoint when the sweep runs again" : ""))
        }
        guard process.terminationReason == .exit, status == 0 else {
            let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").last { $0.hasPrefix("error:") }.map(String.init)
            return try fail(line ?? (process.terminationReason == .uncaughtSignal ? "killed by signal \(status)" : "exit status \(status)"))
        }
        let metrics: [String: Double]
        do { metrics = try Metrics.extract(manifest.command, out: out, stdout: printed) } catch {
            return try fail("error: the command finished but its output could not be read: \(error)")
        }
        try write(PointResult(index: index, values: manifest.values(of: index), metrics: metrics,
                              seconds: Date().timeIntervalSince(started), host: host, finished: now()),
                  to: p.appendingPathComponent(PointFile.result))
        return true
    }
}

/// The figures each command's output gives a sweep.
enum Metrics {
    static func extract(_ command: SweepFile.Command, out: URL, stdout: String) throws -> [String: Double] {
        switch command {
        case .evaluate:
            let data = try Data(contentsOf: out.appendingPathComponent("evaluation.json"))
            let report = try EvaluationReport.decoder.decode(EvaluationReport.self, from: data)
            var m = report.metrics
            m["seed"] = Double(report.seed)
            m["deviceSeed"] = Double(report.deviceSeed)
            return m
        case .train:
            let text = try String(contentsOf: out.appendingPathComponent("run").appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            guard let last = text.split(separator: "\n").last else { throw InputError(file: out.path, "the run recorded no epoch") }
            return numbers(try json(Data(last.utf8)), prefix: "", depth: 1)
        case .compare:
            let top = try json(Data(contentsOf: out.appendingPathComponent("compare").appendingPathComponent("report.json")))
            guard let c = top["comparison"] else { throw InputError(file: out.path, "report.json has no comparison") }
            var m = numbers(c, prefix: "", depth: 0)
            for (i, a) in (c["updateAngles"]?.array ?? []).enumerated() { m["updateAngle\(i + 1)"] = a.number }
            if let signals = c["signals"]?.array {
                m["worstRmsOverRange"] = signals.compactMap { $0["rmsOverRange"]?.number }.max()
                m["finalU"] = signals.first { $0["name"]?.string == "u" }?["finalRelative"]?.number
            }
            return m
        case .solve:
            let start = stdout.firstIndex(of: "{") ?? stdout.endIndex
            return numbers(try json(Data(stdout[start...].utf8)), prefix: "", depth: 1)
        }
    }

    /// Numeric leaves of a JSON object, nested keys joined by dots, `depth` levels deep.
    static func numbers(_ value: JSONValue, prefix: String, depth: Int) -> [String: Double] {
        guard case .object(let object) = value else { return [:] }
        var out: [String: Double] = [:]
        for (k, v) in object {
            let name = prefix.isEmpty ? k : "\(prefix).\(k)"
            switch v {
            case .number(let x): out[name] = x
            case .object where depth > 0: out.merge(numbers(v, prefix: name, depth: depth - 1)) { a, _ in a }
            default: break
            }
        }
        return out
    }

    static func json(_ data: Data) throws -> JSONValue { try EvaluationReport.decoder.decode(JSONValue.self, from: data) }
}

/// A JSON document, numbers kept apart from booleans (which JSONSerialization on Linux does not).
indirect enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    subscript(key: String) -> JSONValue? { if case .object(let o) = self { o[key] } else { nil } }
    var number: Double? { if case .number(let x) = self { x } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
}

/// A sweep process's answer to SIGINT and SIGTERM (Ctrl-C, `kill`, Slurm's time limit): pass
/// SIGINT on to the running points' commands (a train run then checkpoints and stops), start
/// no new point, and let the points record that they were interrupted.
public final class Interruption: @unchecked Sendable {
    public static let shared = Interruption()
    private let lock = NSLock()
    private var children: Set<pid_t> = []
    private var stopped = false
    private var sources: [DispatchSourceSignal] = []

    public var requested: Bool { lock.withLock { stopped } }

    /// Installs the handlers (once per process).
    public func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [weak self] in self?.stop() }
                source.resume()
                sources.append(source)
            }
        }
    }

    func stop() {
        let pids = lock.withLock { () -> Set<pid_t> in
            stopped = true
            return children
        }
        for pid in pids { kill(pid, SIGINT) }
    }

    func register(_ pid: pid_t) {
        let late = lock.withLock { () -> Bool in
            children.insert(pid)
            return stopped
        }
        if late { kill(pid, SIGINT) }
    }

    func unregister(_ pid: pid_t) { _ = lock.withLock { children.remove(pid) } }
}
