import Foundation

/// `ngspice -b` in a subprocess: the netlist plus a generated `.control` block that
/// performs the request's steps and writes each captured plot as a binary raw file.
/// A run past its time limit is killed; nothing of a crashed ngspice reaches this process.
public struct BatchNgspice: SpiceEngine {
    public var executable: String

    public init(executable: String = "/usr/bin/ngspice") {
        self.executable = executable
    }

    public func simulate(_ request: SimulationRequest) throws -> SimulationResult {
        try request.validate()
        guard !request.isContinuation else {
            throw SimulationError(kind: .refused, message: "ngspice -b keeps no circuit between runs: a continuation needs a worker pool", log: [])
        }
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw SimulationError(kind: .engine, message: "\(executable) not found (apt-get install ngspice)", log: [])
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-ngspice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var lines = request.netlist
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty || last.lowercased().hasPrefix(".end") {
            lines.removeLast()
        }
        lines += [".control", "set filetype=binary"]
        var captures: [String] = []
        for step in request.steps {
            switch step {
            case .command(let c): lines.append(c)
            case .analysis(let a): lines.append(a)
            case .capture(let name):
                let safe = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" }
                guard safe else { throw SimulationError(kind: .refused, message: "capture name '\(name)'", log: []) }
                captures.append(name)
                lines.append("write \(dir.appendingPathComponent("\(name).raw").path)")
            }
        }
        lines += [".endc", ".end"]
        let netlist = dir.appendingPathComponent("circuit.cir")
        try lines.joined(separator: "\n").appending("\n").write(to: netlist, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-b", netlist.path]
        process.currentDirectoryURL = dir
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read while it runs, so a chatty ngspice never blocks on a full pipe.
        let collected = OutputCollector()
        let reader = Thread { collected.data = output.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let deadline = Date().addingTimeInterval(request.timeLimit)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                process.terminate()
                usleep(100_000)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            usleep(500)
        }
        process.waitUntilExit()
        while !collected.done { usleep(200) }
        let log = String(decoding: collected.data, as: UTF8.self).split(separator: "\n").map(String.init)
        if timedOut {
            throw SimulationError(kind: .timeLimit, message: "killed after \(String(format: "%.1f", request.timeLimit)) s", log: log)
        }
        let lowered = log.map { $0.lowercased() }
        if lowered.contains(where: { $0.contains("error on line") || $0.hasPrefix("error:") && !$0.contains("no such vector") }) {
            throw SimulationError.classify(log, fallback: "ngspice reported errors")
        }
        if lowered.contains(where: { $0.contains("simulation(s) aborted") || $0.contains("timestep too small") }) {
            throw SimulationError.classify(log, fallback: "the analysis did not complete")
        }
        var plots: [String: RawPlot] = [:]
        for name in captures {
            let path = dir.appendingPathComponent("\(name).raw").path
            guard FileManager.default.fileExists(atPath: path) else {
                throw SimulationError.classify(log, fallback: "no output for '\(name)' (exit status \(process.terminationStatus))")
            }
            do { plots[name] = try RawFile.read(path: path).last } catch let e as RawFileError {
                throw SimulationError(kind: .engine, message: e.message, log: log)
            }
        }
        return SimulationResult(plots: plots, log: log)
    }
}

/// The subprocess's output, filled by the reader thread.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = Data()
    private var finished = false
    var data: Data {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue; finished = true } }
    }
    var done: Bool { lock.withLock { finished } }
}
