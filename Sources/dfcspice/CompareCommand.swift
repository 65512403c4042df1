import ArgumentParser
import Circuit
import DFC
import DynamicInversion
import Emulation
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports
import NetlistText
import Spice
import Training

/// Which ngspice to run.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case embedded, batch

    var engine: any SpiceEngine {
        switch self {
        case .embedded: FallbackEngine()
        case .batch: BatchNgspice()
        }
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run one sample as a circuit in ngspice and in the ideal solver, and report how they differ.",
        discussion: """
        The circuit's feedforward operating point gives its output r_L⁻, the target r_L* \
        follows from the labels (Eq. 3), and the controlled transient is compared with \
        the ideal ODEs on the circuit's time grid (model time = seconds / timeScale). \
        Writes DIR/report.html (plots and a table), DIR/report.json and the SVGs.

        A config with a dynamicInversion section compares the DI backward pass instead:
        the sample's output error δ_L runs through the DI circuits in ngspice, pair by \
        pair, against the exact steady state (NDI, Eq. 17) and the Euler-simulated DI, \
        with the feedback of dynamicInversion.init (docs/dynamic-inversion.md). It writes \
        DIR/report.html, DIR/comparison.json and DIR/traces.svg.

        Examples:
          dfcspice compare --config Examples/student-teacher.yaml --model model.npz \\
              --input x.npy --labels y.npy --sample 0 --out out/compare
          dfcspice compare --config Examples/circuits/two-two-one-bjt-pair.yaml \\
              --model m.npz --input x.npy --labels y.npy --out out/temps \\
              --temperatures 0,27,60 --ideal-phi circuit
          dfcspice init --config Examples/dynamic-inversion/linear-regression.yaml \\
              --out di.npz
          dfcspice teacher \\
              --config Examples/dynamic-inversion/linear-regression.yaml \\
              --samples 4 --input dx.npy --labels dy.npy
          dfcspice compare \\
              --config Examples/dynamic-inversion/linear-regression.yaml \\
              --model di.npz \\
              --input dx.npy --labels dy.npy --sample 0 --out out/compare-di
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Model file.", valueName: "model.npz")) var model: String
    @Option(help: ArgumentHelp("Inputs, batch × n_0 (.npy).", valueName: "X.npy")) var input: String
    @Option(help: ArgumentHelp("Targets or class indices (.npy).", valueName: "Y.npy")) var labels: String
    @Option(help: "Which sample (row) of the batch.") var sample = 0
    @Option(help: ArgumentHelp("Output directory (created if missing).", valueName: "dir")) var out: String
    @Option(help: "ngspice engine: embedded (libngspice, falls back to batch) or batch (ngspice -b).") var engine: EngineChoice = .embedded
    @Option(help: "Weights of the ideal run: requested (the model's) or realised (what the devices carry, after quantization, noise and stuck cells).")
    var idealWeights: WeightChoice = .requested
    @Option(help: "Divide the ideal solver's dt by this (and multiply its steps) so the reference follows the ODE closely.")
    var idealRefine = 1
    @Option(help: "φ of the ideal run: equation (tanh), or circuit (the transistor pair's transfer curve from an ngspice DC sweep, also used for both runs' plasticity).")
    var idealPhi: PhiChoice = .equation
    @Option(help: ArgumentHelp("""
        What the circuit is compared with: ideal (the DFC equations, as --ideal-weights and --ideal-phi set them) or \
        behavioral (the behavioral backend: realised weights, measured φ, offsets, lags, swing, read noise, sinh cells and \
        converters of the same circuit section; --ideal-refine divides its dt too).
        """)) var reference: ReferenceChoice = .ideal
    @Option(help: "Seconds each ngspice run may take before it is halted.") var timeLimit = 600.0
    @Option(help: ArgumentHelp("Compare at each of these temperatures (°C, comma-separated), one report each in DIR/T<t>.",
                               valueName: "t1,t2,…"), transform: { text in
        try text.split(separator: ",").map { part in
            guard let t = Double(part.trimmingCharacters(in: .whitespaces)), t.isFinite, t > -273.15 else {
                throw ValidationError("--temperatures: '\(part)' is not a temperature in °C above absolute zero")
            }
            return t
        }
    })
    var temperatures: [Double]?

    func run() throws {
        guard idealRefine >= 1 else { throw ValidationError("--ideal-refine must be ≥ 1") }
        guard timeLimit > 0, timeLimit.isFinite else { throw ValidationError("--time-limit must be a positive number of seconds") }
        let experiment = try options.loadExperiment()
        let c = experiment.model
        let network = try ModelFile.read(path: model, configuration: c)
        let x = try BatchFile.inputs(path: input, features: network.sizes[0])
        let y = try BatchFile.labels(path: labels, outputs: network.outputSize, batch: x.rows)
        guard sample >= 0, sample < x.rows else {
            throw InputError(file: input, "--sample \(sample) is out of range (the batch has \(x.rows) samples)")
        }
        if experiment.definesInversion {
            guard idealWeights == .requested, idealRefine == 1, idealPhi == .equation, temperatures == nil else {
                throw InputError(file: options.config, "--ideal-weights, --ideal-refine, --ideal-phi and --temperatures apply to DFC configs, and this one has a dynamicInversion section")
            }
            try compareInversion(experiment, network: network, input: x.rows(sample..<(sample + 1)), labels: y.rows(sample..<(sample + 1)))
            return
        }
        guard idealRefine <= Configuration.maxSteps / c.control.steps else {
            throw ValidationError("--ideal-refine \(idealRefine) × dfc.steps \(c.control.steps) exceeds \(Configuration.maxSteps) Euler steps")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw InputError(file: out, "exists and is not a directory (compare writes a report directory)")
        }
        guard let temperatures else {
            return try compareCircuit(experiment, network: network, x: x, y: y, out: out)
        }
        // One comparison per temperature, each in its own report directory.
        for t in temperatures {
            var e = experiment
            e.circuit.temperature = t
            let dir = URL(fileURLWithPath: out).appendingPathComponent(String(format: "T%g", t)).path
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw InputError(file: dir, "cannot create the output directory: \(error.localizedDescription)")
            }
            print(String(format: "%g °C:", t), terminator: " ")
            try compareCircuit(e, network: network, x: x, y: y, out: dir)
        }
    }

    /// The DFC comparison of one sample at the experiment's circuit parameters, into `out`.
    func compareCircuit(_ experiment: Experiment, network: Network, x: Matrix, y: Matrix, out: String) throws {
        let c = experiment.model
        let spice = try SpiceBackend(network: network, configuration: c, circuit: experiment.circuit, engine: engine.engine, timeLimit: timeLimit)
        var referenceNetwork = network
        if idealWeights == .realised {
            referenceNetwork = spice.mapped.realised
        }
        var curves: [Int: TransferCurve] = [:]
        var phiNote = "the equation"
        if idealPhi == .circuit {
            guard let pair = experiment.circuit.activation.transistorCircuit else {
                throw InputError(file: options.config, "--ideal-phi circuit needs circuit.activation.model bjt-pair, mos-pair or mos-pair-bsim4 (φ is the equation itself)")
            }
            let p = experiment.circuit
            let curve = try TransferCurve.measure(pair, signalScale: p.signalScale, celsius: p.temperature, engine: engine.engine)
            for i in 0..<network.depth where network.activations[i] == .tanh { curves[i] = curve }
            referenceNetwork.transferCurves = curves
            phiNote = String(format: "DC sweep of %@ at %g °C (largest departure from tanh %.3g)", pair.subcircuitName.text, p.temperature,
                             curve.largestDeparture { Foundation.tanh($0) })
        }
        var referenceName = ""
        let started = Date()
        let reference: SampleRun
        switch self.reference {
        case .ideal:
            let ideal = try IdealBackend(network: referenceNetwork, configuration: c, refinement: idealRefine)
            referenceName = ideal.name
            reference = try ideal.run(input: x.row(sample), labels: y.row(sample))
        case .behavioral:
            var refined = c
            refined.control.dt /= Double(idealRefine)
            refined.control.steps *= idealRefine
            let behavioral = try BehavioralBackend(network: network, configuration: refined, circuit: experiment.circuit)
            referenceName = idealRefine > 1 ? "behavioral (dt/\(idealRefine))" : "behavioral"
            if let curve = behavioral.measuredCurve {
                for i in 0..<network.depth where network.activations[i] == .tanh { curves[i] = curve }
            }
            phiNote = "the behavioral backend's (\(behavioral.measuredCurve == nil ? "the equation" : "the measured curve"))"
            reference = try behavioral.run(input: x.row(sample), labels: y.row(sample))
        }
        let candidate = try spice.run(input: x.row(sample), labels: y.row(sample))
        let comparison = Comparison.compare(reference: reference, candidate: candidate, activations: c.activations, curves: curves,
                                            controller: c.controller, tolerance: c.control.convergenceTolerance,
                                            referenceName: referenceName, candidateName: "circuit")
        let report = ComparisonReport(
            title: "Circuit versus \(self.reference.rawValue): \(c.name), sample \(sample)",
            context: ComparisonReport.circuitContext(config: options.config, configuration: c, model: model, circuit: experiment.circuit,
                                                     engine: engine.rawValue, referenceWeights: idealWeights.rawValue, referencePhi: phiNote),
            comparison: comparison, reference: reference, candidate: candidate,
            signalScale: experiment.circuit.signalScale, timeScale: experiment.circuit.timeScale, tauU: c.control.tauU)
        try report.write(to: URL(fileURLWithPath: out))
        let worst = comparison.signals.max { $0.rmsOverRange < $1.rmsOverRange }
        print(String(format: "circuit vs %@: worst trace RMS %.2e of range (%@), final u %.2e, final v %.2e (relative), ΔW angles %@°; verdicts %@/%@; %.2f s",
                     referenceName, worst?.rmsOverRange ?? 0, worst?.signal ?? "-", comparison.agreement("u")?.finalRelative ?? 0,
                     comparison.signals.filter { $0.signal.hasPrefix("v") && !$0.signal.hasPrefix("vA") && !$0.signal.hasPrefix("vB") }.map(\.finalRelative).max() ?? 0,
                     comparison.updateAngles.map { String(format: "%.3f", $0) }.joined(separator: ", "),
                     comparison.referenceStatus, comparison.candidateStatus, Date().timeIntervalSince(started)))
        print("wrote \(URL(fileURLWithPath: out).appendingPathComponent("report.html").path)")
    }
}

extension CompareCommand {
    /// The DI backward pass of one sample: circuit against NDI and ideal DI.
    func compareInversion(_ experiment: Experiment, network: Network, input: Matrix, labels: Matrix) throws {
        let c = experiment.model, inv = experiment.inversion
        let model = try InversionModel.initialized(network: network, initialization: inv.initialization, alpha: inv.parameters.alpha,
                                                   margin: inv.margin, seed: c.seed)
        _ = try model.check(.ndi, parameters: inv.parameters)
        let ff = network.forward(input)
        let g = c.loss.gradient(ff.output, labels, reduction: .sum)
        let deltaL = g.hadamard(network.activations[network.depth - 1].derivative(ff.potentials[network.depth - 1]))
        let mapper = try InversionCircuitMapper(parameters: experiment.circuit, alpha: inv.parameters.alpha)
        let comparison = try InversionCircuitComparison.run(model: model, feedforward: ff, outputError: deltaL, parameters: inv.parameters,
                                                            mapper: mapper, timeScale: experiment.circuit.timeScale, engine: engine.engine)
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: dir.path, "cannot create the output directory: \(error.localizedDescription)")
        }
        try comparison.write(to: dir, context: [("config", options.config), ("model", model.network.sizes.map(String.init).joined(separator: "-") + " from " + self.model),
                                                ("sample", "\(sample) of \(self.input)"), ("seed", "\(c.seed)"), ("engine", engine.rawValue),
                                                ("feedback init", inv.initialization.rawValue), ("α", "\(inv.parameters.alpha)")])
        print(comparison.table)
        print(String(format: "DI circuit, %d pairs in ngspice: %.2f s", network.depth - 1, comparison.seconds))
        print("wrote \(dir.appendingPathComponent("report.html").path)")
    }
}

enum WeightChoice: String, ExpressibleByArgument, CaseIterable { case requested, realised }

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a netlist in ngspice and write every vector of its analysis to .npz.",
        discussion: """
        Runs the netlist's own analysis (.tran or .op). Netlists with .control blocks, \
        .include, shell or other command lines are refused unless --allow-control is given.

        Example:
          dfcspice simulate --netlist netlists/two-two-one.cir --out traces.npz
        """
    )

    @Option(help: ArgumentHelp("Netlist to run.", valueName: "F.cir")) var netlist: String
    @Option(help: "embedded or batch.") var engine: EngineChoice = .embedded
    @Option(help: ArgumentHelp("Where to write the vectors.", valueName: "traces.npz")) var out: String
    @Option(help: "Seconds the simulation may take.") var timeLimit = 600.0
    @Flag(help: "Run netlists that contain .control blocks or command lines (only for netlists you trust).")
    var allowControl = false
    @Option(help: ArgumentHelp("Memory the netlist may plan to use (e.g. 64G); default: what the machine has available.", valueName: "bytes"))
    var maxMemory: String?

    func run() throws {
        try applyMaxMemory(maxMemory)
        guard timeLimit > 0, timeLimit.isFinite else { throw ValidationError("--time-limit must be a positive number of seconds") }
        // The limit covers every phase: reading and checking the netlist, ngspice, writing.
        let started = Date()
        func remaining(after phase: String) throws -> Double {
            let left = timeLimit - Date().timeIntervalSince(started)
            guard left > 0 else { throw InputError(file: netlist, "time limit of \(timeLimit) s reached while \(phase)") }
            return left
        }
        try checkOutputPath(out, distinctFrom: [netlist])
        let text = try readNetlist(netlist)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if !allowControl {
            do { try NetlistSafety.check(lines) } catch let e as SimulationError { throw InputError(file: netlist, e.message) }
        }
        let result: SimulationResult
        do {
            result = try engine.engine.simulate(SimulationRequest(netlist: lines, timeLimit: try remaining(after: "reading the netlist")))
        } catch let e as SimulationError {
            throw InputError(file: netlist, e.description)
        }
        _ = try remaining(after: "ngspice ran")
        let plot = try result.plot("result")
        var npz = NPZ()
        for (name, values) in zip(plot.names, plot.values) {
            var key = name
            if key.hasPrefix("v("), key.hasSuffix(")") { key = String(key.dropFirst(2).dropLast()) }
            key = String(key.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
            npz[key] = NDArray(vector: values)
        }
        try npz.write(to: URL(fileURLWithPath: out))
        print(String(format: "wrote %@: %d vectors × %d points (%@, %.2f s)", out, plot.names.count, plot.points, plot.name, Date().timeIntervalSince(started)))
    }
}

/// A netlist's text: a regular file, UTF-8, small enough that its lines, ngspice's copy and
/// the vectors it produces fit in memory (ten times the file, measured: a 0.9 MB netlist
/// of 40 000 resistors peaks at 100 MB).
func readNetlist(_ path: String) throws -> String {
    try InputFile.text(path: path) { size in
        do { try MemoryBudget.require(MemoryBudget.product([Int(clamping: size)], scale: 10), for: "a netlist of \(size) bytes") } catch let e as LinearAlgebraError {
            throw InputError(file: path, e.description)
        }
    }
}

/// What `compare` runs beside the circuit.
enum ReferenceChoice: String, ExpressibleByArgument, CaseIterable {
    case ideal, behavioral
}

/// φ of the ideal run in `compare`.
enum PhiChoice: String, ExpressibleByArgument, CaseIterable {
    case equation, circuit
}
