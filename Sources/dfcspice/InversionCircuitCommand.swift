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
        For the config's initial network (its seed), the feedback of `dynamicInversion.init` and
        student–teacher probe samples: OUT/layer<l>.cir is the circuit of layer pair l for the
        first sample (error integrators δ_{l−1}, controller integrators u_l, crossbars W_l and
        B_l; docs/dynamic-inversion.md). Each sample's backward pass then runs in ngspice pair by
        pair, from rest, and the end state is compared with the exact steady state (NDI, Eq. 17)
        and with the Euler-simulated DI. OUT/comparison.json holds the numbers, OUT/traces.svg
        the circuit's δ_{l−1}(t) of the first sample, lowest pair.

        Example: dfcspice di-circuit --config Examples/dynamic-inversion/linear-regression.yaml --samples 8 --out runs/di-circuit
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: "Probe samples to run through the circuit.") var samples = 4
    @Option(help: "Transient length in model time units (the populations' τ = 1).") var duration = 200.0
    @Flag(help: "Only write the netlists.") var netlistOnly = false
    @Option(help: ArgumentHelp("Output directory.", valueName: "OUT")) var out: String

    func run() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1") }
        let experiment = try ConfigurationLoader.loadExperiment(path: options.config)
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
            try AtomicFile.write(try NgspiceDialect().text(circuit), to: dir.appendingPathComponent("layer\(l).cir"))
        }
        print("wrote \((2...net.depth).map { "layer\($0).cir" }.joined(separator: ", ")) in \(dir.path)")
        if netlistOnly { return }

        let ideal = try model.backward(.di, feedforward: ff, outputError: deltaL, parameters: inv.parameters)
        let started = Date()
        let spiceRunner = SpiceInversion(engine: FallbackEngine(), mapper: mapper)
        let spice = try spiceRunner.backward(model: model, feedforward: ff, outputError: deltaL)
        let seconds = Date().timeIntervalSince(started)
        func relative(_ a: Matrix, _ b: Matrix) -> Double { (a - b).frobeniusNorm / max(b.frobeniusNorm, 1e-300) }
        var rows: [[String: Double]] = []
        print("| hidden layer | circuit vs NDI | ideal DI vs NDI | angle circuit/NDI | circuit residual |")
        print("|---|---|---|---|---|")
        for l in stride(from: net.depth - 1, through: 1, by: -1) {
            let rc = relative(spice.deltas[l - 1], ndi.deltas[l - 1]), ri = relative(ideal.deltas[l - 1], ndi.deltas[l - 1])
            let angle = angleDegrees(spice.deltas[l - 1].storage, ndi.deltas[l - 1].storage)
            let residual = spice.residuals[net.depth - 1 - l]
            print(String(format: "| δ_%d | %.2e | %.2e | %.4f° | %.2e |", l, rc, ri, angle, residual))
            rows.append(["layer": Double(l), "circuitVsNDI": rc, "idealVsNDI": ri, "angleDegrees": angle, "circuitResidual": residual])
        }
        print(String(format: "%d samples × %d pairs in ngspice: %.2f s", samples, net.depth - 1, seconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        struct Report: Encodable { var config: String; var seed: UInt64; var samples: Int; var seconds: Double; var layers: [[String: Double]] }
        try AtomicFile.write(try encoder.encode(Report(config: options.config, seed: c.seed, samples: samples, seconds: seconds, layers: rows)),
                             to: dir.appendingPathComponent("comparison.json"))
        // Traces of the lowest pair for sample 0, circuit against the exact end values.
        let run = try spiceRunner.runPair(weights: net.weights[1], feedback: model.feedback[0], target: ndi.deltas[1].row(0), layer: 2)
        var plot = LinePlot(title: "DI in the circuit: δ_1(t) of sample 0, first six units (before ∘ g')", xLabel: "time (τ)", yLabel: "δ_1")
        let t = run.time.map { $0 / experiment.circuit.timeScale }
        for j in 0..<min(6, run.deltaTrace.count) {
            plot.series.append(.init(label: "δ_1,\(j)", x: t, y: run.deltaTrace[j], color: j))
        }
        try AtomicFile.write(plot.svg(), to: dir.appendingPathComponent("traces.svg"))
        print("wrote comparison.json and traces.svg")
    }
}
