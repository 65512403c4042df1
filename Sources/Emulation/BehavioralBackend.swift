import Circuit
import DFC
import LinearAlgebra

/// The circuit's non-idealities without a circuit simulator (DESIGN.md §2, level 2), batched on
/// BLAS: the weights the devices realise (levels, programming noise, faults, drift, IR drop —
/// programmed exactly as the SPICE backend programs them), each stage's finite DC gain when the
/// gain trim is off, and the circuit's stages as `CircuitBehavior` describes them: op-amp input
/// offsets and bias currents (the netlist's own per-instance draws), GBW as first-order lags,
/// output swing, the transistor activation's measured transfer curve, sinh cells, read noise,
/// and the converters (docs/behavioral-model.md).
///
/// When the circuit is nothing but its realised weights (`CircuitBehavior.isStatic`), the ideal
/// ODEs on those weights are the whole model and the ideal solver's kernels run them, `dfc-ssa`
/// by Lemma 1. Otherwise forward updates come from `CircuitDynamics`, as the hardware would
/// give them: `dfc` from the trajectory, `dfc-ss` from the final state, `dfc-ssa` from the
/// circuit model's steady state found by Newton iterations that start with Lemma 1's step
/// (`CircuitDynamics.steadyState`). The feedback phase (Eq. 13) runs the ideal
/// kernels on the effective weights and curves; its offsets, lags and noise are not modelled.
public struct BehavioralBackend: Backend {
    public var mapper: DFCCircuitMapper
    public var requested: Network
    public var ideal: IdealBackend
    public var cycle: UInt64
    /// The device arrays that realise `requested` (kept so that a reprogramming rewrites
    /// only the arrays whose values changed).
    public var arrays: ProgrammedNetwork

    /// The transistor activation's φ as ngspice measures it, for its tanh layers (nil: the equation).
    public var measuredCurve: TransferCurve?
    /// The circuit's stages beyond its weights, for these arrays.
    public var behavior: CircuitBehavior
    /// Which programming of the weights the arrays are (`DFCCircuitMapper.programArrays`).
    public var programmingRound: UInt64
    /// Seed of the read noise and soma noise of `CircuitDynamics`, advanced per reprogramming.
    public var noiseSeed: UInt64

    public var name: String { "behavioral" }
    public var network: Network { requested }
    public var effectiveNetwork: Network { ideal.network }

    /// The circuit model in time, when the circuit is more than its weights (built with the
    /// arrays: its cell-by-cell read noise is drawn once per programming).
    var dynamics: CircuitDynamics?

    static func dynamics(_ behavior: CircuitBehavior, ideal: IdealBackend, arrays: ProgrammedNetwork,
                         mapper: DFCCircuitMapper) -> CircuitDynamics? {
        behavior.isStatic ? nil : CircuitDynamics(network: ideal.network, behavior: behavior, configuration: ideal.solver.configuration,
                                                  arrays: arrays, mapper: mapper)
    }

    public init(network: Network, configuration: Configuration, circuit: CircuitParameters, cycle: UInt64 = 0,
                programmingRound: UInt64 = 0) throws {
        mapper = try DFCCircuitMapper(configuration: configuration, parameters: circuit)
        requested = network
        self.cycle = cycle
        self.programmingRound = programmingRound
        noiseSeed = Self.noiseSeed(deviceSeed: circuit.deviceSeed ?? configuration.seed, cycle: cycle)
        var c = configuration
        if circuit.opAmp.outputLimit != nil {
            c.control.divergenceBound = min(c.control.divergenceBound, 1e6)
        }
        if let pair = circuit.activation.transistorCircuit, configuration.activations.contains(.tanh) {
            measuredCurve = try TransferCurve.measuredOnce(pair, signalScale: circuit.signalScale, celsius: circuit.temperature)
        }
        // Only the device arrays: building the whole circuit per reprogramming took
        // 50 ms on the Fashion-MNIST network, more than the batch's own work.
        arrays = mapper.programArrays(network: network, programmingRound: programmingRound)
        behavior = mapper.behavior(of: arrays)
        ideal = try IdealBackend(network: Self.effective(arrays, mapper: mapper, curve: measuredCurve), configuration: c)
        dynamics = Self.dynamics(behavior, ideal: ideal, arrays: arrays, mapper: mapper)
    }

    /// The read- and soma-noise seed of reprogramming `cycle`: from the device seed, so the same
    /// chip and cycle draw the same noise.
    static func noiseSeed(deviceSeed: UInt64, cycle: UInt64) -> UInt64 {
        SeededGenerator(seed: deviceSeed).derived(0xBE4A).derived(cycle).state.0
    }

    /// Realised weights, scaled by each stage's DC gain 1/(1 + (1 + R_F·G_in)/A) when untrimmed.
    /// The measured curve, where there is one, replaces tanh.
    static func effective(_ arrays: ProgrammedNetwork, mapper: DFCCircuitMapper, curve: TransferCurve?) -> Network {
        var net = arrays.realised
        if let curve {
            for i in 0..<net.depth where mapper.configuration.activations[i] == .tanh { net.transferCurves[i] = curve }
        }
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
        guard let dynamics else { return try ideal.run(input: input, labels: labels) }
        let outcome = dynamics.run(input: Matrix(row: input), labels: Matrix(row: labels), plasticity: .none, traces: true,
                                   noiseSeed: noiseSeed)
        guard let trace = outcome.trace else { throw ModelError("behavioral backend: no traces were recorded") }
        return trace
    }

    public func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate {
        guard let dynamics, variant.family != .baseline else { return try ideal.update(inputs: inputs, labels: labels, variant: variant) }
        try ideal.network.validateInput(inputs)
        let outcome: CircuitDynamics.Outcome
        if variant.family == .analytic {
            outcome = try dynamics.steadyState(input: inputs, labels: labels).0
        } else {
            let plasticity: CircuitDynamics.Plasticity = variant.family == .trajectory ? .trajectory : .finalState
            outcome = dynamics.run(input: inputs, labels: labels, plasticity: plasticity, traces: false,
                                   noiseSeed: SeededGenerator(seed: noiseSeed).derived(inputs.fingerprint).state.0)
        }
        // A sample that left every bound (possible only without rails) would spoil the sum: the
        // update is taken again from the others, as the ideal solver does.
        let kept = (0..<inputs.rows).filter { outcome.status[$0] != .diverged }
        if kept.count < inputs.rows {
            var u = kept.isEmpty ? BatchUpdate(dW: requested.weights.map { Matrix(rows: $0.rows, columns: $0.columns) },
                                               db: requested.biases.map { [Double](repeating: 0, count: $0.count) })
                                 : try update(inputs: inputs.rows(at: kept), labels: labels.rows(at: kept), variant: variant)
            u.converged = 0
            u.notConverged = 0
            u.diverged = 0
            for s in outcome.status.indices { u.count(outcome.status[s]) }
            return u
        }
        var u = BatchUpdate(dW: outcome.dW, db: outcome.db)
        for status in outcome.status { u.count(status) }
        u.loss = ideal.solver.configuration.loss.perSample(outcome.feedforwardOutput, labels).reduce(0, +)
        return u
    }

    /// The circuit's gated-off DC point: offsets, converters, sinh cells and measured φ included,
    /// and with `circuit.dcReadNoise` one read's noise (`DCRead`: the same for a sample in any batch).
    public func feedforwardOutput(_ inputs: Matrix) -> Matrix {
        guard let dynamics else { return ideal.network.forward(inputs).output }
        let state = mapper.parameters.dcReadNoise ? dynamics.feedforward(inputs, readSeed: noiseSeed) : dynamics.feedforward(inputs)
        return state.r[requested.depth - 1]
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
    ///
    /// With resistive wires and `circuit.wire.exactMapEvery` N > 1, the arrays' IR-drop maps
    /// are solved exactly at cycles 0, N, 2N, … and followed from those solves in between.
    public func reprogrammed(with network: Network, cycle: UInt64) throws -> BehavioralBackend {
        let anchors = followsIRDrop(at: cycle) ? arrays.arrays.map(\.irDropAnchor) : nil
        return try holding(mapper.programArrays(network: network, programmingRound: programmingRound,
                                                reusing: (requested, arrays), irDropAnchors: anchors),
                           network: network, cycle: cycle)
    }

    /// Whether reprogramming `cycle` follows the last exact IR-drop maps instead of solving.
    func followsIRDrop(at cycle: UInt64) -> Bool {
        let wire = mapper.parameters.wire
        return wire.followsMapBetweenSolves && cycle % UInt64(wire.exactMapEvery) != 0
    }

    /// The IR-drop anchors of a run that follows its maps between exact solves (the anchors
    /// are not a function of the weights it holds, so a resume needs them); empty otherwise.
    public var checkpointState: [String: Matrix] {
        guard mapper.parameters.wire.followsMapBetweenSolves else { return [:] }
        var out = [String: Matrix]()
        for (k, array) in arrays.arrays.enumerated() {
            guard let a = array.irDropAnchor else { continue }
            for (part, m) in [("gPlus", a.gPlus), ("gMinus", a.gMinus), ("aPlus", a.aPlus), ("aMinus", a.aMinus)] {
                out["irDrop.\(k).\(part)"] = m
            }
        }
        return out
    }

    /// Programs `network` as the interrupted run held it at `cycle`: its arrays follow the
    /// checkpoint's IR-drop anchors (or are solved, at a cycle of exact solves).
    public func resumed(with network: Network, cycle: UInt64, state: [String: Matrix]) throws -> BehavioralBackend {
        guard !state.isEmpty else { return try reprogrammed(with: network, cycle: cycle) }
        let shapes = ProgrammedNetwork.arrayShapes(of: network)
        let count = shapes.count
        var anchors = [IRDropAnchor?](repeating: nil, count: count)
        var used = 0
        for k in 0..<count {
            let parts = ["gPlus", "gMinus", "aPlus", "aMinus"].map { state["irDrop.\(k).\($0)"] }
            if parts.allSatisfy({ $0 == nil }) { continue }
            guard let gp = parts[0], let gm = parts[1], let ap = parts[2], let am = parts[3] else {
                throw ModelError("the checkpoint's IR-drop anchor of array \(k) is incomplete")
            }
            let (rows, columns) = shapes[k]
            guard [gp, gm, ap, am].allSatisfy({ $0.storage.allSatisfy(\.isFinite) }) else {
                throw ModelError("the checkpoint's IR-drop anchor of array \(k) holds a non-finite value")
            }
            let anchor = IRDropAnchor(gPlus: gp, gMinus: gm, aPlus: ap, aMinus: am)
            guard anchor.fits(rows: rows, columns: columns) else {
                throw ModelError("the checkpoint's IR-drop anchor of array \(k) is \(gp.rows)×\(gp.columns); the network's array is \(rows)×\(columns)")
            }
            anchors[k] = anchor
            used += 4
        }
        guard used == state.count else {
            let unknown = state.keys.filter { !$0.hasPrefix("irDrop.") }.sorted()
            throw ModelError("the checkpoint holds device tensors the behavioral backend does not know: \(unknown.prefix(3).joined(separator: ", "))")
        }
        return try holding(mapper.programArrays(network: network, programmingRound: programmingRound,
                                                irDropAnchors: followsIRDrop(at: cycle) ? anchors : nil),
                           network: network, cycle: cycle)
    }

    /// This backend with new arrays realising `network`, at `cycle`.
    private func holding(_ newArrays: ProgrammedNetwork, network: Network, cycle: UInt64) throws -> BehavioralBackend {
        var b = self
        b.requested = network
        b.cycle = cycle
        b.arrays = newArrays
        b.behavior = mapper.behavior(of: b.arrays)
        b.noiseSeed = Self.noiseSeed(deviceSeed: mapper.parameters.deviceSeed ?? mapper.configuration.seed, cycle: cycle)
        b.ideal = try ideal.reprogrammed(with: Self.effective(b.arrays, mapper: mapper, curve: measuredCurve), cycle: cycle)
        b.dynamics = Self.dynamics(b.behavior, ideal: b.ideal, arrays: b.arrays, mapper: mapper)
        return b
    }
}
