import Circuit
import DFC
import LinearAlgebra

/// The circuit's non-idealities on the ideal ODEs (DESIGN.md §2, level 2), batched on BLAS:
/// the weights the devices realise (quantized, noisy, stuck — programmed exactly as the
/// SPICE backend programs them), the finite DC gain of every TIA and soma stage when the
/// gain trim is off, and the op-amp rails as a bound on v and u.
/// Not modelled: the single-pole op-amps' bandwidth (its lag is measured against SPICE in
/// docs/results.md).
public struct BehavioralBackend: Backend {
    public var mapper: DFCCircuitMapper
    public var requested: Network
    public var ideal: IdealBackend
    public var cycle: UInt64

    public var name: String { "behavioral" }
    public var network: Network { requested }
    public var effectiveNetwork: Network { ideal.network }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters, cycle: UInt64 = 0) throws {
        mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        requested = network
        self.cycle = cycle
        var c = configuration
        if case .singlePole(_, _, let rail) = circuit.opAmp, rail > 0 {
            c.control.divergenceBound = min(c.control.divergenceBound, 1e6)
        }
        ideal = try IdealBackend(network: try Self.effective(network, mapper: mapper, cycle: cycle), configuration: c)
    }

    /// Realised weights, scaled by each stage's DC gain 1/(1 + (1 + R_F·G_in)/A) when untrimmed.
    static func effective(_ network: Network, mapper: DFCCircuitMapper, cycle: UInt64) throws -> Network {
        // Only the device arrays: building the whole circuit per reprogramming took
        // 50 ms on the Fashion-MNIST network, more than the batch's own work.
        let arrays = mapper.programArrays(network: network, programmingCycle: cycle)
        var net = arrays.realised
        guard !mapper.parameters.trimFiniteGain else { return net }
        let gain: Double = switch mapper.parameters.opAmp {
        case .ideal(let a): a
        case .singlePole(let a, _, _): a
        }
        let soma = 1 / (1 + 3 / gain)        // R_F = R with two inputs of R: noise gain 3
        for i in 0..<net.depth {
            let w = arrays.forward[i], q = arrays.feedback[i]
            for j in 0..<net.weights[i].rows {
                let gw = (0..<w.gPlus.columns).reduce(0.0) { $0 + w.gPlus[j, $1] + w.gMinus[j, $1] }
                let gq = (0..<q.gPlus.columns).reduce(0.0) { $0 + q.gPlus[j, $1] + q.gMinus[j, $1] }
                let kw = soma / (1 + (1 + gw / w.gUnit) / gain)
                let kq = soma / (1 + (1 + gq / q.gUnit) / gain)
                for c in 0..<net.weights[i].columns { net.weights[i][j, c] *= kw }
                net.biases[i][j] *= kw
                for c in 0..<net.feedback[i].columns { net.feedback[i][j, c] *= kq }
            }
        }
        return net
    }

    public func run(input: [Double], labels: [Double]) throws -> SampleRun {
        try ideal.run(input: input, labels: labels)
    }

    public func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate {
        try ideal.update(inputs: inputs, labels: labels, variant: variant)
    }

    /// The feedback phase on the effective weights; the decay acts on the requested Q.
    public func feedbackUpdate(inputs: Matrix, variant: Variant, noiseSeed: UInt64) throws -> [Matrix] {
        let dQ = try ideal.feedbackUpdate(inputs: inputs, variant: variant, noiseSeed: noiseSeed)
        let beta = Double(inputs.rows) * ideal.solver.configuration.feedback.decay
        return (0..<dQ.count).map { dQ[$0] + ideal.network.feedback[$0] * beta - requested.feedback[$0] * beta }
    }

    public func reprogrammed(with network: Network, cycle: UInt64) throws -> BehavioralBackend {
        var b = self
        b.requested = network
        b.cycle = cycle
        b.ideal = try ideal.reprogrammed(with: try Self.effective(network, mapper: mapper, cycle: cycle), cycle: cycle)
        return b
    }
}
