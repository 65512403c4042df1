import ArgumentParser
import Circuit
import DFC
import DynamicInversion
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import Spice
import Training

/// `dfcspice di-circuit`: the DI backward pass as a circuit, against NDI and ideal DI.
struct InversionCircuitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "di-circuit",
        abstract: "Write the dynamic-inversion circuits of a network and compare their backward pass (ngspice) with NDI and ideal DI.",
        discussion: """
        For the config's initial network (its seed), the feedback of `dynamicInversion.init` and \
        student–teacher probe samples: OUT/layer<l>.cir is the circuit of layer pair l for the \
        first sample (error integrators δ_{l−1}, controller integrators u_l, crossbars W_l and \
        B_l; docs/dynamic-inversion.md). Each sample's backward pass then runs in ngspice pair by \
        pair, from rest, and the end state is compared with the exact steady state (NDI, Eq. 17) \
        and with the Euler-simulated DI. OUT/comparison.json holds the numbers, OUT/traces.svg \
        the circuit's δ_{l−1}(t) of the first sample, lowest pair, OUT/report.html both.

        Example:
          dfcspice di-circuit \\
              --config Examples/dynamic-inversion/linear-regression.yaml \\
              --samples 8 --out runs/di-circuit
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: "Probe samples to run through the circuit.") var samples = 4
    @Option(help: "Transient length in model time units (the populations' τ = 1).") var duration = 200.0
    @Flag(help: "Only write the netlists.") var netlistOnly = false
    @Flag(help: "Write the netlists without subcircuits.") var flat = false
    @Option(help: ArgumentHelp("Output directory.", valueName: "OUT")) var out: String

    func run() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1") }
        let experiment = try options.loadExperiment()
        let c = experiment.model
        let inv = experiment.inversion
        let net = try Network.initialized(c, seed: c.seed)
        let model = try InversionModel.initialized(network: net, initialization: inv.initialization, alpha: inv.parameters.alpha,
                                                   margin: inv.margin, seed: c.seed)
        _ = try model.check(.ndi, parameters: inv.parameters)
        let task = try StudentTeacher(configuration: c, seed: c.seed)
        let probe = task.samples(samples, seed: SeededGenerator(seed: c.seed).derived(0x7E57).state.0)
        let ff = net.forward(probe.input)
        let g = c.loss.gradient(ff.output, probe.labels, reduction: .sum)
        let deltaL = g.hadamard(net.activations[net.depth - 1].derivative(ff.potentials[net.depth - 1]))
        let mapper = try InversionCircuitMapper(parameters: experiment.circuit, alpha: inv.parameters.alpha, duration: duration)
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: dir.path, "cannot create the output directory: \(error.localizedDescription)")
        }
        // Netlists of the first sample: pair l's target is sample 0's δ_l from NDI (what the pair above settles to).
        let ndi = try model.backward(.ndi, feedforward: ff, outputError: deltaL, parameters: inv.parameters)
        for l in 2...net.depth {
            let circuit = try mapper.map(weights: net.weights[l - 1], feedback: model.feedback[l - 2], target: ndi.deltas[l - 1].row(0), layer: l)
            try AtomicFile.write(try NgspiceDialect().text(circuit, flat: flat), to: dir.appendingPathComponent("layer\(l).cir"))
        }
        print("wrote \((2...net.depth).map { "layer\($0).cir" }.joined(separator: ", ")) in \(dir.path)")
        if netlistOnly { return }

        let comparison = try InversionCircuitComparison.run(model: model, feedforward: ff, outputError: deltaL, parameters: inv.parameters,
                                                            mapper: mapper, timeScale: experiment.circuit.timeScale)
        print(comparison.table)
        print(String(format: "%d samples × %d pairs in ngspice: %.2f s", samples, net.depth - 1, comparison.seconds))
        try comparison.write(to: dir, context: [("config", options.config), ("seed", "\(c.seed)"), ("samples", "\(samples)"),
                                                ("network", net.sizes.map(String.init).joined(separator: "-")),
                                                ("feedback init", inv.initialization.rawValue), ("α", "\(inv.parameters.alpha)")])
        print("wrote comparison.json, traces.svg and report.html")
    }
}
