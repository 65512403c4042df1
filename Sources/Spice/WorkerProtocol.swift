import Foundation

/// The frames a worker process and the pool exchange over pipes:
/// a little-endian UInt32 length and a JSON header, then a little-endian UInt64
/// length and raw float64 data (the vectors, concatenated) — so traces cross the
/// pipe as bytes, not as decimal text.
enum WorkerProtocol {
    struct Request: Codable {
        var netlist: [String]
        var steps: [StepCode]
        var timeLimit: Double
        var keepLoaded: Bool?
    }

    struct StepCode: Codable {
        var kind: String   // "command", "analysis", "capture"
        var text: String
    }

    struct Response: Codable {
        struct Plot: Codable {
            var key: String
            var name: String
            var names: [String]
            var lengths: [Int]
        }
        var plots: [Plot]
        var log: [String]
        var error: String?
        var errorKind: String?
        /// Seconds spent inside ngspice for this request (load, commands, analyses, vector reads).
        var engineSeconds: Double
    }

    static func code(_ steps: [SimulationRequest.Step]) -> [StepCode] {
        steps.map {
            switch $0 {
            case .command(let c): StepCode(kind: "command", text: c)
            case .analysis(let a): StepCode(kind: "analysis", text: a)
            case .capture(let n): StepCode(kind: "capture", text: n)
            }
        }
    }

    static func steps(_ codes: [StepCode]) -> [SimulationRequest.Step] {
        codes.compactMap {
            switch $0.kind {
            case "command": .command($0.text)
            case "analysis": .analysis($0.text)
            case "capture": .capture($0.text)
            default: nil
            }
        }
    }

    static func write(header: Data, payload: Data, to handle: FileHandle) throws {
        var frame = Data()
        var h = UInt32(header.count).littleEndian
        withUnsafeBytes(of: &h) { frame.append(contentsOf: $0) }
        frame.append(header)
        var p = UInt64(payload.count).littleEndian
        withUnsafeBytes(of: &p) { frame.append(contentsOf: $0) }
        frame.append(payload)
        try handle.write(contentsOf: frame)
    }

    /// Reads one frame; nil at a clean end of input.
    static func read(from handle: FileHandle) throws -> (header: Data, payload: Data)? {
        func exactly(_ n: Int) throws -> Data? {
            var data = Data()
            while data.count < n {
                guard let chunk = try handle.read(upToCount: n - data.count), !chunk.isEmpty else {
                    if data.isEmpty { return nil }
                    throw SimulationError(kind: .engine, message: "worker pipe closed mid-frame", log: [])
                }
                data.append(chunk)
            }
            return data
        }
        guard let h = try exactly(4) else { return nil }
        let headerLength = Int(h.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
        guard let header = try exactly(headerLength), let p = try exactly(8) else {
            throw SimulationError(kind: .engine, message: "worker pipe closed mid-frame", log: [])
        }
        let payloadLength = Int(p.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        let payload = payloadLength == 0 ? Data() : (try exactly(payloadLength) ?? Data())
        return (header, payload)
    }
}

/// The loop a worker process runs: requests in on stdin, results out on stdout,
/// simulated by the process's own embedded ngspice. Ends at end of input.
public enum SpiceWorker {
    public static func serve(input: FileHandle = .standardInput, output: FileHandle = .standardOutput) throws {
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        while let frame = try WorkerProtocol.read(from: input) {
            let request = try decoder.decode(WorkerProtocol.Request.self, from: frame.header)
            let started = DispatchTime.now().uptimeNanoseconds
            var response = WorkerProtocol.Response(plots: [], log: [], error: nil, errorKind: nil, engineSeconds: 0)
            var payload = Data()
            do {
                var r = SimulationRequest(netlist: request.netlist, steps: WorkerProtocol.steps(request.steps), timeLimit: request.timeLimit)
                r.keepLoaded = request.keepLoaded ?? false
                let result = try EmbeddedNgspice.shared.simulate(r)
                response.log = result.log
                for (key, plot) in result.plots.sorted(by: { $0.key < $1.key }) {
                    response.plots.append(.init(key: key, name: plot.name, names: plot.names, lengths: plot.values.map(\.count)))
                    for v in plot.values { v.withUnsafeBytes { payload.append(contentsOf: $0) } }
                }
            } catch let e as SimulationError {
                response.error = e.message
                response.errorKind = e.kind.rawValue
                response.log = e.log
            }
            response.engineSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            try WorkerProtocol.write(header: try encoder.encode(response), payload: payload, to: output)
        }
    }
}

/// A pool of worker processes (`dfcspice spice-worker`), each with its own embedded
/// ngspice, so independent simulations run in parallel on the machine's cores.
/// Thread-safe: each `simulate` call takes a free worker, or waits for one.
public final class SpiceWorkerPool: SpiceEngine, @unchecked Sendable {
    final class Worker {
        let process: Process
        let input: FileHandle
        let output: FileHandle
        init(process: Process, input: FileHandle, output: FileHandle) {
            self.process = process
            self.input = input
            self.output = output
        }
    }

    private let lock = NSCondition()
    private var idle: [Worker] = []
    private let executable: URL
    private let arguments: [String]
    public let size: Int
    private var engineSecondsTotal = 0.0

    /// Starts `workers` processes of `executable arguments…` (e.g. the dfcspice binary with `spice-worker`).
    public init(workers: Int, executable: URL, arguments: [String] = ["spice-worker"]) throws {
        self.executable = executable
        self.arguments = arguments
        self.size = max(1, workers)
        for _ in 0..<size { idle.append(try Self.start(executable, arguments)) }
    }

    static func start(_ executable: URL, _ arguments: [String]) throws -> Worker {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let toWorker = Pipe(), fromWorker = Pipe()
        p.standardInput = toWorker
        p.standardOutput = fromWorker
        p.standardError = FileHandle.nullDevice
        try p.run()
        return Worker(process: p, input: toWorker.fileHandleForWriting, output: fromWorker.fileHandleForReading)
    }

    deinit {
        for w in idle {
            try? w.input.close()
            w.process.waitUntilExit()
        }
    }

    /// Seconds the workers spent inside ngspice, summed over all requests so far.
    public var engineSeconds: Double { lock.withLock { engineSecondsTotal } }

    public func simulate(_ request: SimulationRequest) throws -> SimulationResult {
        guard !request.isContinuation, !request.keepLoaded else {
            throw SimulationError(kind: .refused, message: "a kept circuit and its continuation run on one worker: use withWorker", log: [])
        }
        return try withWorker { try $0.simulate(request) }
    }

    /// One worker for several requests in a row: a request with `keepLoaded` and its
    /// continuation (an empty netlist) run on the same ngspice, which skips loading the circuit
    /// again (the HIL sample's feedforward operating point, then its controlled transient).
    public func withWorker<T>(_ body: (WorkerSession) throws -> T) throws -> T {
        lock.lock()
        while idle.isEmpty { lock.wait() }
        let worker = idle.removeLast()
        lock.unlock()
        let session = WorkerSession(pool: self, worker: worker)
        defer {
            lock.lock()
            idle.append(session.worker)
            lock.signal()
            lock.unlock()
        }
        return try body(session)
    }

    /// A worker held by `withWorker`.
    public final class WorkerSession {
        let pool: SpiceWorkerPool
        var worker: Worker
        init(pool: SpiceWorkerPool, worker: Worker) {
            self.pool = pool
            self.worker = worker
        }
        public func simulate(_ request: SimulationRequest) throws -> SimulationResult {
            try pool.send(request, on: &worker)
        }
    }

    func send(_ request: SimulationRequest, on worker: inout Worker) throws -> SimulationResult {
        if !worker.process.isRunning {
            worker = try Self.start(executable, arguments)
            if request.isContinuation {
                throw SimulationError(kind: .engine, message: "the worker holding the circuit ended", log: [])
            }
        }
        let header = try JSONEncoder().encode(WorkerProtocol.Request(netlist: request.netlist, steps: WorkerProtocol.code(request.steps),
                                                                    timeLimit: request.timeLimit, keepLoaded: request.keepLoaded))
        let frame: (header: Data, payload: Data)?
        do {
            try WorkerProtocol.write(header: header, payload: Data(), to: worker.input)
            frame = try WorkerProtocol.read(from: worker.output)
        } catch {
            worker.process.terminate()
            worker = try Self.start(executable, arguments)
            throw SimulationError(kind: .engine, message: "worker process failed: \(error)", log: [])
        }
        guard let frame else {
            worker = try Self.start(executable, arguments)
            throw SimulationError(kind: .engine, message: "worker process ended", log: [])
        }
        let response = try JSONDecoder().decode(WorkerProtocol.Response.self, from: frame.header)
        lock.withLock { engineSecondsTotal += response.engineSeconds }
        if let error = response.error {
            throw SimulationError(kind: SimulationError.Kind(rawValue: response.errorKind ?? "") ?? .engine, message: error, log: response.log)
        }
        var plots: [String: RawPlot] = [:]
        var offset = 0
        frame.payload.withUnsafeBytes { raw in
            for p in response.plots {
                var values: [[Double]] = []
                for n in p.lengths {
                    values.append((0..<n).map { raw.loadUnaligned(fromByteOffset: offset + 8 * $0, as: Double.self) })
                    offset += 8 * n
                }
                plots[p.key] = RawPlot(title: "", name: p.name, names: p.names, values: values)
            }
        }
        return SimulationResult(plots: plots, log: response.log)
    }
}
