import Circuit
import DFC
import Foundation
import LinearAlgebra
import Spice

/// A DFC network as a circuit in ngspice. Per sample: the netlist is built with the
/// device model, its operating point with the controller gated off gives the
/// circuit's own feedforward output r_L⁻, the host computes r_L* from it (Eq. 3),
/// and a second run with the target sources set gives the controlled transient.
public struct SpiceBackend: Backend {
    public var network: Network
    public var configuration: Configuration
    public var mapper: DFCCircuitMapper
    public var engine: any SpiceEngine
    public var timeLimit: Double
    /// Samples simulated at once in `update` (use a `SpiceWorkerPool` of this size as engine).
    public var workers: Int
    /// How many reprogrammings led here (the trainer's count). Programming noise does not
    /// follow it: an array is redrawn when its values change (`DFCCircuitMapper.programArrays`).
    public let cycle: UInt64
    /// Simulator options for a second attempt when a sample does not converge.
    public static let relaxedOptions = ["option reltol=0.01", "option abstol=1e-9", "option vntol=1e-5",
                                        "option method=gear", "option itl4=100", "option gmin=1e-10"]
    /// The network mapped once (devices are programmed once per network, as in
    /// hardware); per sample only the input and target sources and the phase change.
    public let mapped: MappedCircuit
    private let template: [String]
    private let inputLines: [(plus: Int, minus: Int)]
    private let targetLines: [Int]
    private let phaseLine: Int
    /// The cells' read-noise sources (`Vrn…` cards) when `circuit.dcReadNoise` asks a feedforward
    /// read to go through one read's noise; empty otherwise.
    private let readNoiseLines: [Int]

    public var name: String { "spice" }
    public var effectiveNetwork: Network { mapped.realised }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters,
                engine: any SpiceEngine = FallbackEngine(), timeLimit: Double = 120, workers: Int = 1, cycle: UInt64 = 0) throws {
        self.network = network
        self.configuration = configuration
        self.mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        self.engine = engine
        self.timeLimit = timeLimit
        self.workers = max(1, workers)
        self.cycle = cycle
        // Programming round 0 whatever the cycle: an array keeps its realisation until its
        // values change (`DFCCircuitMapper.programArrays`), as the behavioral backend's do.
        mapped = try mapper.map(network: network, input: [Double](repeating: 0, count: network.sizes[0]),
                                target: [Double](repeating: 0, count: network.outputSize), phase: .controlled)
        let lines = try NgspiceDialect().text(mapped.circuit).split(separator: "\n").map(String.init)
        template = lines
        func line(_ prefix: String) throws -> Int {
            guard let k = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else {
                throw SimulationError(kind: .missingVector, message: "the netlist has no card '\(prefix)'", log: [])
            }
            return k
        }
        inputLines = try (0..<network.sizes[0]).map { (try line("VX\($0)p "), try line("VX\($0)n ")) }
        targetLines = try (0..<network.outputSize).map { try line("VC\($0)_target ") }
        phaseLine = try line(".param ctl_level=")
        readNoiseLines = circuit.readsThroughNoise ? lines.indices.filter { Self.isReadNoiseCard(lines[$0]) } : []
    }

    /// A cell's noise source as `Crossbar.forEachElement` writes it: `V…rn<row>_<column><p|n>`.
    static func isReadNoiseCard(_ line: String) -> Bool {
        guard line.hasPrefix("V"), let name = line.split(separator: " ", maxSplits: 1).first,
              let rn = name.range(of: "rn", options: .backwards) else { return false }
        let tail = name[rn.upperBound...]
        guard let side = tail.last, side == "p" || side == "n" else { return false }
        let digits = tail.dropLast().split(separator: "_", omittingEmptySubsequences: false)
        return digits.count == 2 && digits.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// `lines` read once through noise: each cell's source holds n ~ N(0, σ²) at DC, so the cell
    /// conducts G·(1 + n) at the operating point. The draws come from the device seed, the cycle
    /// and the sample's input, so a sample reads alike in any batch, shard or worker.
    func readOnce(_ lines: inout [String], input: [Double]) {
        guard !readNoiseLines.isEmpty else { return }
        let p = mapper.parameters
        var g = SeededGenerator(seed: p.deviceSeed ?? configuration.seed).derived(0xDC_4EAD).derived(cycle)
            .derived(Matrix(row: input).fingerprint)
        var n = [Double](repeating: 0, count: readNoiseLines.count)
        g.fillNormal(&n, scale: p.device.oneReadSigma)
        for (k, line) in zip(readNoiseLines, n) {
            let fields = lines[k].split(separator: " ", maxSplits: 3)
            lines[k] = "\(fields[0]) \(fields[1]) \(fields[2]) DC \(NgspiceDialect.number(line))"
        }
    }

    /// The netlist of one sample: the template with its source values and phase set.
    public func netlist(input: [Double], target: [Double], phase: ControllerPhase) -> [String] {
        let s = mapper.parameters.signalScale
        var lines = template
        func set(_ k: Int, _ value: Double) {
            let fields = lines[k].split(separator: " ", maxSplits: 3)
            lines[k] = "\(fields[0]) \(fields[1]) \(fields[2]) DC \(NgspiceDialect.number(value))"
        }
        // Through the input DACs, as `DFCCircuitMapper.map` writes the sources.
        let dac = mapper.parameters.converters.input
        for (k, exact) in input.enumerated() {
            let x = dac.map { $0(exact) } ?? exact
            set(inputLines[k].plus, s * x)
            set(inputLines[k].minus, -s * x)
        }
        for (k, t) in target.enumerated() { set(targetLines[k], s * t) }
        lines[phaseLine] = ".param ctl_level=\(phase == .controlled ? "1.0" : "0.0")"
        return lines
    }

    public func reprogrammed(with network: Network, cycle: UInt64) throws -> SpiceBackend {
        try SpiceBackend(network: network, configuration: configuration, circuit: mapper.parameters, engine: engine,
                         timeLimit: timeLimit, workers: workers, cycle: cycle)
    }

    public func run(input: [Double], labels: [Double]) throws -> SampleRun {
        try run(input: input, labels: labels, options: [])
    }

    /// The noise-driven feedback phase in the circuit, sample by sample (`workers` at a time):
    /// the circuit's feedforward output is its target, PWL noise seeded per sample drives the
    /// apical compartments, and ⟨−v^A uᵀ⟩ is integrated from the traces on their own grid.
    public func feedbackUpdate(inputs: Matrix, variant: Variant, noiseSeed: UInt64) throws -> [Matrix] {
        guard variant != .ddtpLinear else {
            throw ModelError("variant ddtp-linear: its feedback learns by a reconstruction loss, not a circuit phase; train it on the ideal or behavioral backend")
        }
        let B = inputs.rows
        let slots = Slots<[Matrix]>(count: B)
        let beta = configuration.feedback.decay
        let scale = configuration.feedbackCorrelationScale
        DispatchQueue.concurrentPerform(iterations: min(workers, B)) { w in
            for s in stride(from: w, to: B, by: workers) {
                do {
                    let x = inputs.row(s)
                    let (_, output) = try feedforward(input: x, options: [])
                    let phase = try mapper.mapFeedbackPhase(network: network, input: x, target: output,
                                                            noiseSeed: SeededGenerator(seed: noiseSeed).derived(UInt64(s)).state.0)
                    let lines = try NgspiceDialect().text(phase.circuit).split(separator: "\n").map(String.init)
                    let result = try engine.simulate(SimulationRequest(netlist: lines, steps: [.analysis("run"), .capture("fb")], timeLimit: timeLimit))
                    let plot = try result.plot("fb")
                    guard let seconds = plot.vector("time") else {
                        throw SimulationError(kind: .missingVector, message: "no time vector in the feedback phase", log: result.log)
                    }
                    let T = seconds.count
                    var u = Matrix(rows: T, columns: network.outputSize)
                    var apical = (1...network.depth).map { Matrix(rows: T, columns: network.sizes[$0]) }
                    for o in phase.observables {
                        guard let v = plot.vector(o.node.text) else { continue }
                        switch o.signal {
                        case .apical(let l, let j): for k in 0..<T { apical[l - 1][k, j] = v[k] * o.scale }
                        case .control(let k): for t in 0..<T { u[t, k] = v[t] * o.scale }
                        default: break
                        }
                    }
                    let weights = trapezoidWeights(seconds)
                    var dQ: [Matrix] = []
                    for i in 0..<network.depth {
                        var a = apical[i]
                        for k in 0..<T { for j in 0..<a.columns { a[k, j] *= -weights[k] } }
                        dQ.append(Matrix.product(a, .transposed, u, .none) * scale - network.feedback[i] * beta)
                    }
                    slots.set(s, dQ)
                } catch {
                    slots.fail(s, error)
                }
            }
        }
        var total = network.feedback.map { Matrix(rows: $0.rows, columns: $0.columns) }
        for s in 0..<B {
            let dQ = try slots.get(s)
            for i in 0..<total.count { total[i] += dQ[i] }
        }
        return total
    }

    /// The circuit's operating point with the controller gated off: the potentials v_i⁻ and the output r_L⁻.
    /// With `read`, one read's noise (`readOnce`), as a test read on the chip sees it.
    func feedforward(input: [Double], options: [String], session: SpiceWorkerPool.WorkerSession? = nil, read: Bool = false) throws -> ([[Double]], [Double]) {
        let nL = network.outputSize
        var lines = netlist(input: input, target: [Double](repeating: 0, count: nL), phase: .feedforward)
        if read { readOnce(&lines, input: input) }
        var request = SimulationRequest(netlist: lines,
                                        steps: options.map { .command($0) } + [.analysis("op"), .capture("op")], timeLimit: timeLimit)
        request.keepLoaded = session != nil
        let ff = try session?.simulate(request) ?? engine.simulate(request)
        let op = try ff.plot("op")
        var potentials: [[Double]] = network.sizes.dropFirst().map { [Double](repeating: 0, count: $0) }
        var output = [Double](repeating: 0, count: nL)
        for o in mapped.observables {
            switch o.signal {
            case .soma(let layer, let j):
                guard let v = op.vector(o.node.text) else { throw SimulationError(kind: .missingVector, message: "no vector for node \(o.node)", log: ff.log) }
                potentials[layer - 1][j] = v[0] * o.scale
            case .rate(let layer, let j) where layer == network.depth:
                guard let v = op.vector(o.node.text) else { throw SimulationError(kind: .missingVector, message: "no vector for node \(o.node)", log: ff.log) }
                output[j] = v[0] * o.scale
            default: break
            }
        }
        return (potentials, output)
    }

    /// Samples in parallel (`workers` at a time); a sample that does not converge is tried
    /// again with `relaxedOptions`, and skipped (and counted) if it still fails.
    public func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate {
        guard variant.family == .trajectory || variant.family == .steadyState else {
            throw ModelError("the SPICE backend simulates the controlled dynamics; variant \(variant.rawValue) has none (use dfc, dfc-ss or their -fixed forms)")
        }
        let B = inputs.rows
        let results = Slots<BatchUpdate>(count: B)
        DispatchQueue.concurrentPerform(iterations: min(workers, B)) { w in
            for s in stride(from: w, to: B, by: workers) {
                let x = inputs.row(s), y = labels.row(s)
                var retried = false
                var outcome: BatchUpdate?
                for options in [[], Self.relaxedOptions] {
                    do {
                        let run = try self.run(input: x, labels: y, options: options, batchSize: B)
                        let u = TracePlasticity.update(run, activations: configuration.activations,
                                                       finalOnly: variant.family == .steadyState)
                        var one = BatchUpdate(dW: u.dW, db: u.db)
                        one.count(Comparison.verdict(run, configuration.controller, configuration.control.convergenceTolerance))
                        outcome = one
                        break
                    } catch let e as SimulationError where e.kind == .convergence || e.kind == .timeLimit {
                        retried = true
                        continue
                    } catch {
                        results.fail(s, error)
                        return
                    }
                }
                var one = outcome ?? BatchUpdate(dW: network.weights.map { Matrix(rows: $0.rows, columns: $0.columns) },
                                                 db: network.biases.map { [Double](repeating: 0, count: $0.count) })
                if outcome == nil { one.skipped = 1 }
                if retried { one.retried = 1 }
                results.set(s, one)
            }
        }
        var total = BatchUpdate(dW: network.weights.map { Matrix(rows: $0.rows, columns: $0.columns) },
                                db: network.biases.map { [Double](repeating: 0, count: $0.count) })
        for s in 0..<B { total.add(try results.get(s)) }
        return total
    }

    /// `batchSize`: with the code's batch-mean loss the nudge of each sample is divided by it,
    /// as the batched ideal solver does.
    func run(input: [Double], labels: [Double], options: [String], batchSize: Int = 1) throws -> SampleRun {
        let nL = network.outputSize
        guard input.count == network.sizes[0], labels.count == nL else {
            throw ModelError("spice backend: need \(network.sizes[0]) inputs and \(nL) labels")
        }
        // Through a worker pool, both runs of the sample share one loaded circuit: the
        // feedforward netlist is kept and the controlled run only alters its sources.
        if let pool = engine as? SpiceWorkerPool {
            return try pool.withWorker { worker in
                try run(input: input, labels: labels, options: options, batchSize: batchSize, session: worker)
            }
        }
        return try run(input: input, labels: labels, options: options, batchSize: batchSize, session: nil)
    }

    func run(input: [Double], labels: [Double], options: [String], batchSize: Int, session: SpiceWorkerPool.WorkerSession?) throws -> SampleRun {
        let nL = network.outputSize
        // 1. Feedforward phase: the operating point with the controller gated off.
        let (feedforward, outputRates) = try self.feedforward(input: input, options: options, session: session)
        func value(_ plot: RawPlot, _ node: SpiceName, _ log: [String]) throws -> [Double] {
            guard let v = plot.vector(node.text) else {
                throw SimulationError(kind: .missingVector, message: "no vector for node \(node)", log: log)
            }
            return v
        }
        // 2. The target from the circuit's own output (Eq. 3).
        let gradient = configuration.loss.gradient(Matrix(row: outputRates), Matrix(row: labels),
                                                   reduction: configuration.conventions.lossReduction)
        let perBatch = configuration.conventions.lossReduction == .mean ? 1 / Double(batchSize) : 1
        let target = (0..<nL).map { outputRates[$0] - configuration.control.lambda * perBatch * gradient[0, $0] }
        // 3. The controlled transient from that operating point.
        let result: SimulationResult
        if let session {
            let s = mapper.parameters.signalScale
            let commands = mapper.continuationCommands(phase: .controlled, targetVolts: target.map { s * $0 })
            result = try session.simulate(SimulationRequest(netlist: [], steps: (options + commands).map { .command($0) } + [.analysis("run"), .capture("tran")],
                                                            timeLimit: timeLimit))
        } else {
            result = try engine.simulate(SimulationRequest(netlist: netlist(input: input, target: target, phase: .controlled),
                                                           steps: options.map { .command($0) } + [.analysis("run"), .capture("tran")], timeLimit: timeLimit))
        }
        let tran = try result.plot("tran")
        guard let seconds = tran.vector("time") else {
            throw SimulationError(kind: .missingVector, message: "no time vector in the transient", log: result.log)
        }
        let T = seconds.count
        let sizes = network.sizes
        var soma = (1...network.depth).map { Matrix(rows: T, columns: sizes[$0]) }
        var basal = soma, apical = soma, rates = soma
        var u = Matrix(rows: T, columns: nL), error = u
        for o in mapped.observables {
            let v = try value(tran, o.node, result.log)
            func fill(_ m: inout Matrix, _ column: Int) { for k in 0..<T { m[k, column] = v[k] * o.scale } }
            switch o.signal {
            case .soma(let l, let j): fill(&soma[l - 1], j)
            case .basal(let l, let j): fill(&basal[l - 1], j)
            case .apical(let l, let j): fill(&apical[l - 1], j)
            case .rate(let l, let j): fill(&rates[l - 1], j)
            case .control(let k): fill(&u, k)
            case .error(let k): fill(&error, k)
            }
        }
        return SampleRun(time: seconds.map { $0 / mapper.parameters.timeScale }, soma: soma, basal: basal, apical: apical,
                         rates: rates, u: u, error: error, input: input, feedforward: feedforward, target: target)
    }
}

/// Per-sample results filled by concurrent workers, read in sample order.
final class Slots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ v: Value) { lock.withLock { slots[k] = .success(v) } }
    func fail(_ k: Int, _ e: Error) { lock.withLock { slots[k] = .failure(e) } }
    func get(_ k: Int) throws -> Value {
        guard let r = lock.withLock({ slots[k] }) else { throw ModelError("sample \(k) was not simulated") }
        return try r.get()
    }
}
