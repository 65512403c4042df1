import DFC
import LinearAlgebra

/// The ideal ODEs of the DFC model (`DFC.Dynamics`), one sample at a time, every
/// Euler state recorded. `refinement` > 1 divides dt (and multiplies the steps) so the
/// reference follows the ODE rather than its Euler error when compared with a circuit.
public struct IdealBackend: Backend {
    public var solver: Solver
    public var refinement: Int

    public var name: String { refinement > 1 ? "ideal (dt/\(refinement))" : "ideal" }

    public init(network: Network, configuration: Configuration, refinement: Int = 1) throws {
        var c = configuration
        c.control.dt /= Double(max(1, refinement))
        c.control.steps *= max(1, refinement)
        solver = try Solver(network: network, configuration: c)
        self.refinement = max(1, refinement)
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
            rates: (0..<net.depth).map { net.activations[$0].apply(soma[$0]) },
            u: stack(t.u), error: stack(t.error), input: input,
            feedforward: s.feedforward.potentials.map { $0.row(0) }, target: s.target.row(0))
    }
}
