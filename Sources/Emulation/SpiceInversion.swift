import Circuit
import DFC
import DynamicInversion
import Foundation
import LinearAlgebra
import Spice

/// The DI backward pass in the circuit: each layer pair of the sequential scheme is an
/// `InversionCircuitMapper` circuit, run sample by sample from rest; the transient's end is
/// the pair's steady state, and the host applies ∘ g'(a_{l−1}) before the next pair (the
/// paper's Eq. 18 applies it after convergence, too).
public struct SpiceInversion: Sendable {
    public let engine: any SpiceEngine
    public let mapper: InversionCircuitMapper
    public var timeLimit: Double = 60

    public init(engine: any SpiceEngine, mapper: InversionCircuitMapper) {
        self.engine = engine
        self.mapper = mapper
    }

    /// One pair for one sample: the end state (δ_{l−1}, u_l) and the δ trace over time (s).
    public func runPair(weights: Matrix, feedback: Matrix, target: [Double], layer: Int) throws
        -> (delta: [Double], u: [Double], time: [Double], deltaTrace: [[Double]]) {
        let circuit = try mapper.map(weights: weights, feedback: feedback, target: target, layer: layer)
        let lines = try NgspiceDialect().text(circuit).split(separator: "\n").map(String.init)
        let result = try engine.simulate(SimulationRequest(netlist: lines, steps: [.analysis("run"), .capture("tran")], timeLimit: timeLimit))
        let plot = try result.plot("tran")
        guard let time = plot.vector("time") else {
            throw SimulationError(kind: .missingVector, message: "no time vector in the DI transient", log: result.log)
        }
        let s = mapper.parameters.signalScale
        func read(_ node: SpiceName) throws -> [Double] {
            guard let v = plot.vector(node.text) else {
                throw SimulationError(kind: .missingVector, message: "no vector \(node.text) in the DI transient", log: result.log)
            }
            return v.map { $0 / s }
        }
        let deltaTrace = try (0..<weights.columns).map { try read(InversionCircuitMapper.Nodes.delta($0, plus: true)) }
        let u = try (0..<weights.rows).map { try read(InversionCircuitMapper.Nodes.control($0, plus: true)).last ?? .nan }
        return (deltaTrace.map { $0.last ?? .nan }, u, time, deltaTrace)
    }

    /// Sequential DI through every pair L … 2 for each sample of the batch.
    public func backward(model: InversionModel, feedforward ff: FeedforwardState, outputError deltaL: Matrix) throws -> BackwardPass {
        let net = model.network
        let L = net.depth
        var deltas = [Matrix](repeating: Matrix(rows: 0, columns: 0), count: L)
        deltas[L - 1] = deltaL
        var residuals: [Double] = []
        for l in stride(from: L, through: 2, by: -1) {
            let w = net.weights[l - 1], b = model.feedback[l - 2]
            var below = Matrix(rows: deltaL.rows, columns: w.columns)
            var worst = 0.0
            for s in 0..<deltaL.rows {
                let target = deltas[l - 1].row(s)
                let run = try runPair(weights: w, feedback: b, target: target, layer: l)
                for j in 0..<w.columns { below[s, j] = run.delta[j] }
                worst = max(worst, InversionLayer.steadyStateResidual(readout: Matrix(row: w.times(run.delta)), target: Matrix(row: target),
                                                                      u: Matrix(row: run.u), alpha: mapper.alpha))
            }
            residuals.append(worst)
            deltas[l - 2] = below.hadamard(net.activations[l - 2].derivative(ff.potentials[l - 2]))
        }
        return BackwardPass(deltas: deltas, residuals: residuals)
    }
}
