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

    public var name: String { "spice" }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters,
                engine: any SpiceEngine = FallbackEngine(), timeLimit: Double = 120) throws {
        self.network = network
        self.configuration = configuration
        self.mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        self.engine = engine
        self.timeLimit = timeLimit
    }

    /// The mapped circuit for a sample (and the realised weights its devices carry).
    public func map(input: [Double], target: [Double], phase: ControllerPhase) throws -> MappedCircuit {
        try mapper.map(network: network, input: input, target: target, phase: phase)
    }

    public func run(input: [Double], labels: [Double]) throws -> SampleRun {
        let nL = network.outputSize
        // 1. Feedforward phase: the operating point with the controller gated off.
        let probe = try map(input: input, target: [Double](repeating: 0, count: nL), phase: .feedforward)
        let ffLines = try NgspiceDialect().text(probe.circuit).split(separator: "\n").map(String.init)
        let ff = try engine.simulate(SimulationRequest(netlist: ffLines, steps: [.analysis("op"), .capture("op")], timeLimit: timeLimit))
        let op = try ff.plot("op")
        func value(_ plot: RawPlot, _ node: SpiceName) throws -> [Double] {
            guard let v = plot.vector(node.text) else {
                throw SimulationError(kind: .missingVector, message: "no vector for node \(node)", log: ff.log)
            }
            return v
        }
        var feedforward: [[Double]] = network.sizes.dropFirst().map { [Double](repeating: 0, count: $0) }
        var outputRates = [Double](repeating: 0, count: nL)
        for o in probe.observables {
            switch o.signal {
            case .soma(let layer, let j): feedforward[layer - 1][j] = try value(op, o.node)[0] * o.scale
            case .rate(let layer, let j) where layer == network.depth: outputRates[j] = try value(op, o.node)[0] * o.scale
            default: break
            }
        }
        // 2. The target from the circuit's own output (Eq. 3).
        let gradient = configuration.loss.gradient(Matrix(row: outputRates), Matrix(row: labels),
                                                   reduction: configuration.conventions.lossReduction)
        let target = (0..<nL).map { outputRates[$0] - configuration.control.lambda * gradient[0, $0] }
        // 3. The controlled transient from that operating point.
        let mapped = try map(input: input, target: target, phase: .controlled)
        let lines = try NgspiceDialect().text(mapped.circuit).split(separator: "\n").map(String.init)
        let result = try engine.simulate(SimulationRequest(netlist: lines, steps: [.analysis("run"), .capture("tran")], timeLimit: timeLimit))
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
            let v = try value(tran, o.node)
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
