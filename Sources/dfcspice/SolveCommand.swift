import ArgumentParser
import DFC
import Foundation
import LinearAlgebra
import Logging
import NumPyFormat
import Training

struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Run one variant on a batch and write the controlled state and the update.",
        discussion: """
        The output .npz holds
          u                 controller output at the end (batch × n_L)
          v1…vL, vB1…vBL    controlled somatic and basal values at the end (batch × n_i)
          vff1…vffL         feedforward somatic values v_i⁻ (u = 0)
          dW1…dWL, db1…dbL  the update the variant prescribes, summed over the batch,
                            signed so that W + dW lowers the loss (no optimizer step)
          dQ1…dQL           feedback update (Eq. 13), with --feedback, for dfc,
                            dfc-ss, dfc-ssa
          target, delta     r_L* and δ_L = r_L* − r_L⁻
          status            per sample: 1 converged, 0 not converged, −1 diverged
                            (always 1 for bp, fa, dfa, which have no dynamics)
          t, trace_*        for dfc/dfc-ss: time axis and traces of v, vB, vA per
                            layer, u and e (recorded states × batch × n) every
                            dfc.traceStride steps
          seed, loss

        Example:
          dfcspice solve --config Examples/student-teacher.yaml --model model.npz \\
              --input Examples/data/st-x.npy --labels Examples/data/st-y.npy \\
              --variant dfc --out r.npz --json
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Model file from `dfcspice init` or NumPy.", valueName: "model.npz")) var model: String
    @Option(help: ArgumentHelp("Inputs, batch × n_0 (.npy).", valueName: "X.npy")) var input: String
    @Option(help: ArgumentHelp("Targets batch × n_L, or class indices (.npy).", valueName: "Y.npy")) var labels: String
    @Option(help: "Variant: \(Variant.allCases.map(\.rawValue).joined(separator: ", ")). Default: the config's.")
    var variant: String?
    @Option(help: ArgumentHelp("Where to write the result.", valueName: "R.npz")) var out: String
    @Option(help: "Seed for the noise draws (overrides the config's seed).") var seed: UInt64?
    @Option(help: "Record traces every N Euler steps (0: none). Default: dfc.traceStride.") var traceStride: Int?
    @Flag(help: "Also run the noise-driven feedback phase and write dQ1…dQL.") var feedback = false
    @Flag(help: "Print a JSON summary (convergence counts, loss, diagnostics) on stdout.") var json = false

    func run() throws {
        let logger = Logger(label: "dfcspice.solve")
        var configuration = try options.load()
        let variant = try variant.map(Variant.named) ?? configuration.variant
        configuration.variant = variant
        if let traceStride, traceStride < 0 { throw ValidationError("--trace-stride must be ≥ 0") }
        try checkOutputPath(out, distinctFrom: [options.config, model, input, labels])
        let network = try ModelFile.read(path: model, configuration: configuration)
        let x = try BatchFile.inputs(path: input, features: network.sizes[0])
        let y = try BatchFile.labels(path: labels, outputs: network.outputSize, batch: x.rows)
        // Traces hold every layer's v, v^B, v^A (and u, e) at every stride-th step of every sample.
        let stride = traceStride ?? configuration.control.traceStride
        if stride > 0, variant == .dfc || variant == .dfcSS || variant == .dfcFixed || variant == .dfcSSFixed {
            let width = 3 * (configuration.sizes.dropFirst().reduce(0, +)) + 2 * network.outputSize
            do {
                try MemoryBudget.require(MemoryBudget.product([configuration.control.steps / stride + 1, x.rows, width], scale: 8),
                                         for: "traces of \(x.rows) samples every \(stride) of \(configuration.control.steps) steps")
            } catch let e as LinearAlgebraError {
                throw InputError(file: options.config, field: "dfc.traceStride", e.description + "; raise the stride or use a smaller batch")
            }
        }
        let solver: Solver
        do { solver = try Solver(network: network, configuration: configuration) } catch let e as ModelError {
            throw InputError(file: model, e.message)
        }
        let seed = self.seed ?? configuration.seed
        var generator = SeededGenerator(seed: seed)
        let started = Date()
        let solution = try solver.solve(input: x, labels: y, variant: variant, feedbackUpdate: feedback,
                                        traceStride: traceStride, generator: &generator)
        let elapsed = Date().timeIntervalSince(started)
        logger.info("\(variant.rawValue): \(x.rows) samples in \(String(format: "%.3f", elapsed)) s, converged \(solution.count(.converged)), not converged \(solution.count(.notConverged)), diverged \(solution.count(.diverged))")

        let diagnostics = json ? try solver.diagnostics(for: solution, input: x, labels: y) : nil
        try SolutionFile.write(solution, seed: seed, to: out)
        if json {
            let summary = SolveSummary(variant: variant.rawValue, batch: x.rows, seed: seed, loss: solution.loss,
                                       converged: solution.count(.converged),
                                       notConverged: solution.count(.notConverged),
                                       diverged: solution.count(.diverged), seconds: elapsed,
                                       conventions: configuration.conventions, diagnostics: diagnostics, output: out)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("wrote \(out)")
        }
    }
}

struct SolveSummary: Encodable {
    var variant: String
    var batch: Int
    var seed: UInt64
    var loss: Double
    var converged: Int
    var notConverged: Int
    var diverged: Int
    var seconds: Double
    var conventions: Conventions
    var diagnostics: Diagnostics?
    var output: String
}

/// The `solve` result file layout (see `SolveCommand`'s help).
enum SolutionFile {
    static func write(_ s: Solution, seed: UInt64, to path: String) throws {
        var npz = NPZ()
        let L = s.soma.count
        npz["u"] = NDArray(s.u)
        npz["target"] = NDArray(s.target)
        npz["delta"] = NDArray(s.delta)
        for i in 0..<L {
            npz["v\(i + 1)"] = NDArray(s.soma[i])
            npz["vB\(i + 1)"] = NDArray(s.basal[i])
            npz["vff\(i + 1)"] = NDArray(s.feedforward.potentials[i])
            npz["dW\(i + 1)"] = NDArray(s.dW[i])
            npz["db\(i + 1)"] = NDArray(vector: s.db[i])
            if let dQ = s.dQ { npz["dQ\(i + 1)"] = NDArray(dQ[i]) }
        }
        npz["status"] = NDArray(integers: s.status.map { $0 == .converged ? 1 : ($0 == .notConverged ? 0 : -1) })
        npz["seed"] = NDArray(integer: Int64(clamping: seed))
        npz["loss"] = NDArray(scalar: s.loss)
        if let t = s.traces {
            npz["t"] = NDArray(vector: t.time)
            func stack(_ states: [Matrix]) -> NDArray {
                let b = states.first?.rows ?? 0, n = states.first?.columns ?? 0
                return NDArray(shape: [states.count, b, n], data: states.flatMap(\.storage))
            }
            for i in 0..<L {
                npz["trace_v\(i + 1)"] = stack(t.soma[i])
                npz["trace_vB\(i + 1)"] = stack(t.basal[i])
                npz["trace_vA\(i + 1)"] = stack(t.apical[i])
            }
            npz["trace_u"] = stack(t.u)
            npz["trace_e"] = stack(t.error)
        }
        do { try npz.write(to: URL(fileURLWithPath: path)) } catch let e as NumPyFormatError {
            throw InputError(file: path, e.message)
        }
    }
}
