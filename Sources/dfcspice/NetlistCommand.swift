import ArgumentParser
import Circuit
import DFC
import Foundation
import LinearAlgebra
import NumPyFormat
import Training

struct NetlistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netlist",
        abstract: "Write an ngspice netlist of the network for one sample.",
        discussion: """
        Maps W_i, b_i and Q_i onto differential crossbars, every neuron onto basal and
        apical TIAs and a leaky soma integrator, and the PI controller onto difference,
        integrator and summing stages (docs/circuit-mapping.md). The config's `circuit`
        section sets signal and time scales, component values, the op-amp model and the
        device model. The target r_L* comes from --labels (Eq. 3) or, without labels,
        equals the feedforward output.

        The netlist runs with stock ngspice:  ngspice -b -r out.raw F.cir
        `alterparam ctl_level=0` (feedforward) or 1 (controlled) switches the phase.

        Example:
          dfcspice netlist --config Examples/student-teacher.yaml --model model.npz \\
              --input x.npy --labels y.npy --sample 0 --out st.cir --realised st-weights.npz
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Model file.", valueName: "model.npz")) var model: String
    @Option(help: ArgumentHelp("Inputs, batch × n_0 (.npy).", valueName: "X.npy")) var input: String
    @Option(help: ArgumentHelp("Targets or class indices (.npy); optional.", valueName: "Y.npy")) var labels: String?
    @Option(help: "Which sample (row) of the batch.") var sample = 0
    @Option(help: "feedforward or controlled.") var phase = "controlled"
    @Option(help: ArgumentHelp("Where to write the netlist.", valueName: "F.cir")) var out: String
    @Option(help: ArgumentHelp("Also write the weights the devices realise (.npz).", valueName: "R.npz")) var realised: String?

    func run() throws {
        let experiment = try ConfigurationLoader.loadExperiment(path: options.config)
        let configuration = experiment.model
        guard let phase = ControllerPhase(rawValue: phase) else {
            throw ValidationError("--phase must be feedforward or controlled, not '\(phase)'")
        }
        try checkOutputPath(out)
        if let realised { try checkOutputPath(realised) }
        let network = try ModelFile.read(path: model, configuration: configuration)
        let x = try BatchFile.inputs(path: input, features: network.sizes[0])
        guard sample >= 0, sample < x.rows else {
            throw InputError(file: input, "--sample \(sample) is out of range (the batch has \(x.rows) samples)")
        }
        let xs = x.rows(sample..<(sample + 1))
        let solver = try Solver(network: network, configuration: configuration)
        let ff = network.forward(xs)
        var target = ff.output
        if let labels {
            let y = try BatchFile.labels(path: labels, outputs: network.outputSize, batch: x.rows)
            target = solver.target(feedforward: ff, labels: y.rows(sample..<(sample + 1))).target
        }
        let mapper = try DFCCircuitMapper(configuration: configuration, parameters: experiment.circuit)
        let mapped = try mapper.map(network: network, input: xs.storage, target: target.storage, phase: phase)
        var circuit = mapped.circuit
        circuit.header.insert("config \(URL(fileURLWithPath: options.config).lastPathComponent), model seed \(configuration.seed), sample \(sample); regenerate with `dfcspice netlist` (dfcspice --help).", at: 0)
        try NgspiceDialect().write(circuit, toFile: out)
        if let realised {
            var npz = NPZ(ModelFile.arrays(of: mapped.realised))
            npz["gUnitW"] = NDArray(vector: mapped.gUnitForward)
            npz["gUnitQ"] = NDArray(vector: mapped.gUnitFeedback)
            try npz.write(to: URL(fileURLWithPath: realised))
        }
        print("wrote \(out): \(circuit.elementCount) elements, \(mapped.observables.count) saved nodes" +
              (mapped.clippedWeights > 0 ? ", \(mapped.clippedWeights) weights clipped to wMax" : "") +
              (mapped.stuckDevices > 0 ? ", \(mapped.stuckDevices) stuck devices" : ""))
    }
}
