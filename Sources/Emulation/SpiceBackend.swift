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
    /// The network mapped once (devices are programmed once per network, as in
    /// hardware); per sample only the input and target sources and the phase change.
    public let mapped: MappedCircuit
    private let template: [String]
    private let inputLines: [(plus: Int, minus: Int)]
    private let targetLines: [Int]
    private let phaseLine: Int

    public var name: String { "spice" }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters,
                engine: any SpiceEngine = FallbackEngine(), timeLimit: Double = 120) throws {
        self.network = network
        self.configuration = configuration
        self.mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        self.engine = engine
        self.timeLimit = timeLimit
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
    }

    /// The netlist of one sample: the template with its source values and phase set.
    public func netlist(input: [Double], target: [Double], phase: ControllerPhase) -> [String] {
        let s = mapper.parameters.signalScale
        var lines = template
        func set(_ k: Int, _ value: Double) {
            let fields = lines[k].split(separator: " ", maxSplits: 3)
            lines[k] = "\(fields[0]) \(fields[1]) \(fields[2]) DC \(NgspiceDialect.number(value))"
        }
        for (k, x) in input.enumerated() {
            set(inputLines[k].plus, s * x)
            set(inputLines[k].minus, -s * x)
        }
        for (k, t) in target.enumerated() { set(targetLines[k], s * t) }
        lines[phaseLine] = ".param ctl_level=\(phase == .controlled ? "1.0" : "0.0")"
        return lines
    }

    public func run(input: [Double], labels: [Double]) throws -> SampleRun {
        let nL = network.outputSize
        guard input.count == network.sizes[0], labels.count == nL else {
            throw ModelError("spice backend: need \(network.sizes[0]) inputs and \(nL) labels")
        }
        // 1. Feedforward phase: the operating point with the controller gated off.
        let ff = try engine.simulate(SimulationRequest(netlist: netlist(input: input, target: [Double](repeating: 0, count: nL), phase: .feedforward),
                                                       steps: [.analysis("op"), .capture("op")], timeLimit: timeLimit))
        let op = try ff.plot("op")
        func value(_ plot: RawPlot, _ node: SpiceName, _ log: [String]) throws -> [Double] {
            guard let v = plot.vector(node.text) else {
                throw SimulationError(kind: .missingVector, message: "no vector for node \(node)", log: log)
            }
            return v
        }
        var feedforward: [[Double]] = network.sizes.dropFirst().map { [Double](repeating: 0, count: $0) }
        var outputRates = [Double](repeating: 0, count: nL)
        for o in mapped.observables {
            switch o.signal {
            case .soma(let layer, let j): feedforward[layer - 1][j] = try value(op, o.node, ff.log)[0] * o.scale
            case .rate(let layer, let j) where layer == network.depth: outputRates[j] = try value(op, o.node, ff.log)[0] * o.scale
            default: break
            }
        }
        // 2. The target from the circuit's own output (Eq. 3).
        let gradient = configuration.loss.gradient(Matrix(row: outputRates), Matrix(row: labels),
                                                   reduction: configuration.conventions.lossReduction)
        let target = (0..<nL).map { outputRates[$0] - configuration.control.lambda * gradient[0, $0] }
        // 3. The controlled transient from that operating point.
        let result = try engine.simulate(SimulationRequest(netlist: netlist(input: input, target: target, phase: .controlled),
                                                           steps: [.analysis("run"), .capture("tran")], timeLimit: timeLimit))
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
