import DFC
import LinearAlgebra

/// The ideal ODEs of the DFC model (`DFC.Dynamics`), one sample at a time, every
/// Euler state recorded. `refinement` > 1 divides dt (and multiplies the steps) so the
/// reference follows the ODE rather than its Euler error when compared with a circuit.
public struct IdealBackend: Backend {
    public var solver: Solver
    public var refinement: Int
    /// Seed of the noise draws of `update` (σ > 0), advanced per batch by the caller's cycle.
    public var noiseSeed: UInt64

    public var name: String { refinement > 1 ? "ideal (dt/\(refinement))" : "ideal" }
    public var network: Network { solver.network }
    public var effectiveNetwork: Network { solver.network }

    public init(network: Network, configuration: Configuration, refinement: Int = 1, noiseSeed: UInt64? = nil) throws {
        var c = configuration
        c.control.dt /= Double(max(1, refinement))
        c.control.steps *= max(1, refinement)
        solver = try Solver(network: network, configuration: c)
        self.refinement = max(1, refinement)
        self.noiseSeed = noiseSeed ?? configuration.seed
    }

    public func reprogrammed(with network: Network, cycle: UInt64) throws -> IdealBackend {
        var b = self
        b.solver.network = network
        b.noiseSeed = SeededGenerator(seed: noiseSeed).derived(cycle).state.0
        return b
    }

    public func feedbackUpdate(inputs: Matrix, variant: Variant, noiseSeed: UInt64) throws -> [Matrix] {
        try feedbackUpdate(inputs: inputs, feedforward: solver.network.forward(inputs), variant: variant, noiseSeed: noiseSeed)
    }

    public var feedbackStartsFromForward: Bool { true }

    public func feedbackUpdate(inputs: Matrix, feedforward: FeedforwardState, variant: Variant,
                               noiseSeed: UInt64) throws -> [Matrix] {
        var g = SeededGenerator(seed: noiseSeed)
        return solver.feedbackPhase(input: inputs, feedforward: feedforward, variant: variant, generator: &g)
    }

    /// The whole batch at once through `Solver` (batched BLAS).
    public func update(inputs: Matrix, labels: Matrix, variant: Variant) throws -> BatchUpdate {
        var g = SeededGenerator(seed: noiseSeed)
        let s = try solver.solve(input: inputs, labels: labels, variant: variant, traceStride: 0, generator: &g)
        var u = BatchUpdate(dW: s.dW, db: s.db)
        for status in s.status { u.count(status) }
        u.loss = solver.configuration.loss.perSample(s.feedforward.output, labels).reduce(0, +)
        return u
    }

    public func run(input: [Double], labels: [Double]) throws -> SampleRun {
        let x = Matrix(row: input), y = Matrix(row: labels)
        var g = SeededGenerator(seed: solver.configuration.seed)
        let s = try solver.solve(input: x, labels: y, variant: .dfcSS, traceStride: 1, generator: &g)
        guard let t = s.traces else { throw ModelError("ideal backend: no traces were recorded") }
        func stack(_ states: [Matrix]) -> Matrix { Matrix.vstack(states) }   // each state is 1 × n
        let net = solver.network
        let soma = t.soma.map(stack)
        return SampleRun(
            time: t.time, soma: soma, basal: t.basal.map(stack), apical: t.apical.map(stack),
            rates: (0..<net.depth).map { net.phi($0, soma[$0]) },
            u: stack(t.u), error: stack(t.error), input: input,
            feedforward: s.feedforward.potentials.map { $0.row(0) }, target: s.target.row(0))
    }
}
