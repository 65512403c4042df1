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
    /// The device arrays that realise `requested` (kept so that a reprogramming rewrites
    /// only the arrays whose values changed).
    public var arrays: ProgrammedNetwork

    public var name: String { "behavioral" }
    public var network: Network { requested }
    public var effectiveNetwork: Network { ideal.network }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters, cycle: UInt64 = 0) throws {
        mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        requested = network
        self.cycle = cycle
        var c = configuration
        if circuit.opAmp.outputLimit != nil {
            c.control.divergenceBound = min(c.control.divergenceBound, 1e6)
        }
        // Only the device arrays: building the whole circuit per reprogramming took
        // 50 ms on the Fashion-MNIST network, more than the batch's own work.
        arrays = mapper.programArrays(network: network)
        ideal = try IdealBackend(network: Self.effective(arrays, mapper: mapper), configuration: c)
    }

    /// Realised weights, scaled by each stage's DC gain 1/(1 + (1 + R_F·G_in)/A) when untrimmed.
    static func effective(_ arrays: ProgrammedNetwork, mapper: DFCCircuitMapper) -> Network {
        var net = arrays.realised
        guard !mapper.parameters.trimFiniteGain else { return net }
        let gain = mapper.parameters.opAmp.dcGain
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
        decayOnRequested(try ideal.feedbackUpdate(inputs: inputs, variant: variant, noiseSeed: noiseSeed), batch: inputs.rows)
    }

    /// The realised W and b stay while only Q is rewritten, so a feedback pass may start from
    /// a stored feedforward state of the effective network, as the ideal backend's does.
    public var feedbackStartsFromForward: Bool { true }

    public func feedbackUpdate(inputs: Matrix, feedforward: FeedforwardState, variant: Variant,
                               noiseSeed: UInt64) throws -> [Matrix] {
        decayOnRequested(try ideal.feedbackUpdate(inputs: inputs, feedforward: feedforward, variant: variant, noiseSeed: noiseSeed),
                         batch: inputs.rows)
    }

    /// The ideal backend's update decays its (realised) Q by B·β·Q; the host's decay acts on
    /// the requested Q instead.
    private func decayOnRequested(_ dQ: [Matrix], batch: Int) -> [Matrix] {
        let beta = Double(batch) * ideal.solver.configuration.feedback.decay
        return (0..<dQ.count).map { dQ[$0] + ideal.network.feedback[$0] * beta - requested.feedback[$0] * beta }
    }

    /// Rewrites the arrays whose values changed: in a feedback pass only Q's, in a forward
    /// epoch of a variant with fixed or separately trained Q only W's. The others keep their
    /// conductances and so their programming noise (`DFCCircuitMapper.programArrays`).
    public func reprogrammed(with network: Network, cycle: UInt64) throws -> BehavioralBackend {
        var b = self
        b.requested = network
        b.cycle = cycle
        b.arrays = mapper.programArrays(network: network, reusing: (requested, arrays))
        b.ideal = try ideal.reprogrammed(with: Self.effective(b.arrays, mapper: mapper), cycle: cycle)
        return b
    }
}
