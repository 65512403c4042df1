import Circuit
import DFC
import Foundation
import LinearAlgebra
import Yams

/// A whole experiment file: the model's configuration and, optionally, its circuit.
public struct Experiment: Sendable {
    public var model: Configuration
    public var circuit: CircuitParameters
    public var training = TrainingParameters()
    /// The `dynamicInversion` section (DI paper experiments).
    public var inversion = InversionExperiment()
    /// Whether the file has a `dynamicInversion` section: `compare` then compares the DI
    /// backward pass instead of the DFC dynamics.
    public var definesInversion = false
}

/// Reads a `Configuration` from YAML or JSON text (JSON is read as YAML).
///
/// Unknown keys are errors, not silently ignored: a typo such as `kP:` would
/// otherwise leave the default in place and the run would quietly differ from the
/// one the user asked for. See docs/config.md for every key.
public enum ConfigurationLoader {
    public static func load(path: String) throws -> Configuration { try loadExperiment(path: path).model }

    public static func parse(_ text: String, file: String = "<config>") throws -> Configuration {
        try parseExperiment(text, file: file).model
    }

    public static func loadExperiment(path: String) throws -> Experiment {
        let text = try InputFile.text(path: path, maxBytes: maxTextBytes, limitReason: "a config")
        return try parseExperiment(text, file: path)
    }

    /// Limits on a config's text, checked before YAML builds any value: a config is a page of
    /// keys, so these leave room for any real one and stop "billion laughs" alias bombs (a few
    /// hundred bytes that expand to gigabytes) and nesting deep enough to overflow the stack.
    public static let maxTextBytes = 1 << 20
    public static let maxExpandedNodes = 100_000
    public static let maxNesting = 64

    public static func parseExperiment(_ text: String, file: String = "<config>") throws -> Experiment {
        // Parsed once: the checked tree is the one whose values are built.
        let root: Any? = try checkLimits(text, file: file).map { Constructor.default.any(from: $0) }
        guard let top = root as? [String: Any] else {
            throw InputError(file: file, "the top level must be a mapping of keys (name, seed, network, dfc, …)")
        }
        let reader = Reader(file: file)
        var c = Configuration()
        try reader.keys(top, allowed: ["name", "seed", "variant", "network", "dfc", "feedback", "conventions", "diagnostics", "circuit", "training", "dynamicInversion"], at: nil)
        if let v = top["name"] { c.name = try reader.string(v, "name") }
        if let v = top["seed"] { c.seed = try reader.seed(v, "seed") }
        if let v = top["variant"] { c.variant = try reader.choice(v, "variant", Variant.self) }

        guard let n = top["network"] else {
            throw InputError(file: file, field: "network.sizes", "missing: a config needs a network section with sizes [n_0, …, n_L]")
        }
        do {
            let m = try reader.mapping(n, "network")
            try reader.keys(m, allowed: ["sizes", "activations", "hiddenActivation", "outputActivation", "loss", "init", "feedbackInit", "outputFeedback"], at: "network")
            guard let sizes = m["sizes"] else { throw InputError(file: file, field: "network.sizes", "missing (list of layer sizes n_0 … n_L)") }
            c.sizes = try reader.intList(sizes, "network.sizes")
            let layers = c.sizes.count - 1
            if let a = m["activations"] {
                c.activations = try reader.list(a, "network.activations").enumerated().map {
                    try reader.choice($0.element, "network.activations[\($0.offset)]", Activation.self)
                }
            } else {
                let hidden = try m["hiddenActivation"].map { try reader.choice($0, "network.hiddenActivation", Activation.self) } ?? .tanh
                let output = try m["outputActivation"].map { try reader.choice($0, "network.outputActivation", Activation.self) } ?? .linear
                c.activations = Array(repeating: hidden, count: max(0, layers - 1)) + [output]
            }
            if let v = m["loss"] { c.loss = try reader.choice(v, "network.loss", Loss.self) }
            if let v = m["init"] { c.forwardInit = try reader.choice(v, "network.init", Configuration.Initialization.self) }
            if let v = m["feedbackInit"] { c.feedbackInit = try reader.choice(v, "network.feedbackInit", Configuration.Initialization.self) }
            if let v = m["outputFeedback"] { c.outputFeedback = try reader.choice(v, "network.outputFeedback", Configuration.OutputFeedback.self) }
        }
        if c.forwardInit == .weightProduct {
            throw InputError(file: file, field: "network.init", "weight-product applies to feedbackInit only")
        }
        if let d = top["dfc"] {
            let m = try reader.mapping(d, "dfc")
            try reader.keys(m, allowed: ["kp", "alpha", "lambda", "tauV", "tauU", "dt", "steps", "sigma", "traceStride",
                                         "convergenceTolerance", "divergenceBound"], at: "dfc")
            let numbers: [(String, WritableKeyPath<ControlParameters, Double>)] = [
                ("kp", \.kp), ("alpha", \.alpha), ("lambda", \.lambda), ("tauV", \.tauV), ("tauU", \.tauU), ("dt", \.dt),
                ("sigma", \.sigma), ("convergenceTolerance", \.convergenceTolerance), ("divergenceBound", \.divergenceBound),
            ]
            for (key, path) in numbers { try reader.number(m, key, "dfc", &c.control[keyPath: path]) }
            try reader.integer(m, "steps", "dfc", &c.control.steps)
            try reader.integer(m, "traceStride", "dfc", &c.control.traceStride)
        }
        if let f = top["feedback"] {
            let m = try reader.mapping(f, "feedback")
            try reader.keys(m, allowed: ["kp", "alpha", "tauV", "tauU", "apicalTau", "dt", "steps", "sigma", "decay"], at: "feedback")
            let numbers: [(String, WritableKeyPath<FeedbackParameters, Double>)] = [
                ("kp", \.kp), ("alpha", \.alpha), ("tauV", \.tauV), ("tauU", \.tauU), ("apicalTau", \.apicalTau),
                ("dt", \.dt), ("sigma", \.sigma), ("decay", \.decay),
            ]
            for (key, path) in numbers { try reader.number(m, key, "feedback", &c.feedback[keyPath: path]) }
            try reader.integer(m, "steps", "feedback", &c.feedback.steps)
        }
        if let v = top["conventions"] {
            let m = try reader.mapping(v, "conventions")
            try reader.keys(m, allowed: ["preset", "leak", "lossReduction", "ssaPropagation", "trajectoryAverage", "transmission", "feedbackScaling", "updateScale"], at: "conventions")
            if let p = m["preset"] {
                switch try reader.string(p, "conventions.preset") {
                case "paper": c.conventions = Conventions()
                case "code": c.conventions = .publishedCode
                case let other: throw InputError(file: file, field: "conventions.preset", "unknown preset '\(other)' (expected paper or code)")
                }
            }
            if let x = m["leak"] { c.conventions.leak = try reader.choice(x, "conventions.leak", Conventions.Leak.self) }
            if let x = m["lossReduction"] { c.conventions.lossReduction = try reader.choice(x, "conventions.lossReduction", LossReduction.self) }
            if let x = m["ssaPropagation"] { c.conventions.ssaPropagation = try reader.choice(x, "conventions.ssaPropagation", Conventions.SSAPropagation.self) }
            if let x = m["feedbackScaling"] { c.conventions.feedbackScaling = try reader.choice(x, "conventions.feedbackScaling", Conventions.FeedbackScaling.self) }
            if let x = m["trajectoryAverage"] { c.conventions.trajectoryAverage = try reader.choice(x, "conventions.trajectoryAverage", Conventions.TrajectoryAverage.self) }
            if let x = m["updateScale"] { c.conventions.updateScale = try reader.choice(x, "conventions.updateScale", Conventions.UpdateScale.self) }
            if let x = m["transmission"] { c.conventions.transmission = try reader.choice(x, "conventions.transmission", Conventions.Transmission.self) }
        }
        if let v = top["diagnostics"] {
            let m = try reader.mapping(v, "diagnostics")
            try reader.keys(m, allowed: ["samples"], at: "diagnostics")
            try reader.integer(m, "samples", "diagnostics", &c.diagnosticSamples)
        }
        do { try c.validate() } catch let e as ModelError {
            // validate() messages start with the field path.
            let parts = e.message.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { throw InputError(file: file, field: String(parts[0]), String(parts[1]).trimmingCharacters(in: .whitespaces)) }
            throw InputError(file: file, e.message)
        }
        try requireModelMemory(c, file: file)
        var circuit = try top["circuit"].map { try parseCircuit($0, reader: reader) } ?? CircuitParameters()
        // Op-amp offsets are drawn like the devices: from the device seed, else the config's.
        if case .macromodel(var m) = circuit.opAmp {
            m.seed = circuit.deviceSeed ?? c.seed
            circuit.opAmp = .macromodel(m)
        }
        // What depends on both sections (the transient's length in points) is checked here,
        // where the error can name the file.
        do { _ = try DFCCircuitMapper(configuration: c, parameters: circuit) } catch let e as InvalidElementError {
            throw reader.fail(e.element, e.reason)
        }
        let training = try top["training"].map { try parseTraining($0, reader: reader) } ?? TrainingParameters()
        let inversion = try top["dynamicInversion"].map { try parseInversion($0, reader: reader) } ?? InversionExperiment()
        return Experiment(model: c, circuit: circuit, training: training, inversion: inversion,
                          definesInversion: top["dynamicInversion"] != nil)
    }

    /// Copies of the parameters every command holds at once, at the least: the network, its
    /// update, a reprogrammed or realised copy and the ideal reference.
    static let modelCopies = 4

    /// Refuses a network whose parameters alone (`modelCopies` float64 copies) exceed the
    /// memory budget, before anything is allocated; the message names the estimate.
    static func requireModelMemory(_ c: Configuration, file: String) throws {
        do {
            try MemoryBudget.require(MemoryBudget.product([c.parameterCount ?? -1], scale: 8 * modelCopies),
                                     for: "a network of sizes \(c.sizes.count > 8 ? "\(c.sizes.prefix(8))…" : "\(c.sizes)") (\(modelCopies) copies of its \(c.parameterCount ?? 0) weights)")
        } catch let e as LinearAlgebraError {
            throw InputError(file: file, field: "network.sizes", e.description)
        }
    }

    /// Bytes a training run holds beyond the network: the optimizer's moments and the
    /// gradients (4 more copies of the parameters), the data sets as float64
    /// (`samples` rows of n_0 + n_L values), and a batch's states over the layers.
    public static func trainingBytes(_ c: Configuration, _ t: TrainingParameters, samples: Int) -> Int? {
        let width = MemoryBudget.sum([c.sizes.first, c.sizes.last])
        let states = MemoryBudget.product([t.batchSize, c.sizes.reduce(0, { $0 &+ $1 }), 16])
        return MemoryBudget.sum([
            MemoryBudget.product([c.parameterCount ?? -1], scale: 8 * (modelCopies + 4)),
            MemoryBudget.product([samples, width ?? -1], scale: 8),
            states,
        ])
    }

    /// The composed tree of `text` (nil for an empty document); throws when `text` is larger,
    /// nests deeper or expands (aliases followed) to more nodes than the limits above allow.
    static func checkLimits(_ text: String, file: String) throws -> Node? {
        guard text.utf8.count <= maxTextBytes else {
            throw InputError(file: file, "\(text.utf8.count) bytes; a config may have at most \(maxTextBytes)")
        }
        // Flow nesting ([ and {) and block nesting (indentation) both recurse in the parser.
        var depth = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { depth += 1 } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { depth -= 1 }
            guard depth <= maxNesting else { throw InputError(file: file, "brackets nest deeper than \(maxNesting) levels") }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.prefix(while: { $0 == " " }).count > 2 * maxNesting {
            throw InputError(file: file, "indentation deeper than \(2 * maxNesting) spaces")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            let message = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw InputError(file: file, "malformed YAML/JSON: \(message)")
        }
        // The composed tree shares an anchored node among its aliases; counting it with every
        // alias followed is what building the values would cost.
        var pending = node.map { [$0] } ?? []
        var count = 0
        while let n = pending.popLast() {
            count += 1
            guard count <= maxExpandedNodes else {
                throw InputError(file: file, "holds more than \(maxExpandedNodes) values (aliases *name counted as often as they are used); a config needs far fewer")
            }
            switch n {
            case .scalar, .alias: break
            case .sequence(let s): pending.append(contentsOf: s)
            case .mapping(let m):
                for (k, v) in m {
                    // Yams builds a key with `String.construct(from:)!`: a sequence or mapping
                    // as a key (`? [a, b]`) trapped there (found by fuzzing).
                    guard case .scalar = k else { throw InputError(file: file, "a mapping key is not plain text (near line \(k.mark?.line ?? 0))") }
                    pending.append(k)
                    pending.append(v)
                }
            }
        }
        return node
    }

    static func parseTraining(_ value: Any, reader: Reader) throws -> TrainingParameters {
        var t = TrainingParameters()
        let m = try reader.mapping(value, "training")
        let numbers: [(String, WritableKeyPath<TrainingParameters, Double>)] = [
            ("learningRate", \.learningRate), ("beta1", \.beta1), ("beta2", \.beta2), ("epsilon", \.epsilon),
            ("clipNorm", \.clipNorm), ("feedbackLearningRate", \.feedbackLearningRate), ("feedbackPretrainRate", \.feedbackPretrainRate),
        ]
        let integers: [(String, WritableKeyPath<TrainingParameters, Int>)] = [
            ("batchSize", \.batchSize), ("epochs", \.epochs), ("trainSamples", \.trainSamples),
            ("testSamples", \.testSamples), ("checkpointEvery", \.checkpointEvery),
            ("feedbackPretrainEpochs", \.feedbackPretrainEpochs), ("extraFeedbackEpochs", \.extraFeedbackEpochs),
        ]
        let flags: [(String, WritableKeyPath<TrainingParameters, Bool>)] = [
            ("feedbackPassFirst", \.feedbackPassFirst), ("separateFeedbackOptimizers", \.separateFeedbackOptimizers),
        ]
        let optionalNumbers = ["feedbackEpsilon", "feedbackClipNorm"]
        try reader.keys(m, allowed: Set(numbers.map(\.0) + integers.map(\.0) + flags.map(\.0) + optionalNumbers + ["optimizer"]), at: "training")
        for (key, path) in numbers { try reader.number(m, key, "training", &t[keyPath: path]) }
        for (key, path) in integers { try reader.integer(m, key, "training", &t[keyPath: path]) }
        if let v = m["optimizer"] { t.optimizer = try reader.choice(v, "training.optimizer", Optimizer.Kind.self) }
        for (key, path) in flags {
            guard let v = m[key] else { continue }
            guard let b = v as? Bool else { throw reader.fail("training.\(key)", "expected true or false") }
            t[keyPath: path] = b
        }
        if let v = m["feedbackEpsilon"] { t.feedbackEpsilon = try reader.double(v, "training.feedbackEpsilon") }
        if let v = m["feedbackClipNorm"] { t.feedbackClipNorm = try reader.double(v, "training.feedbackClipNorm") }
        do { try t.validate() } catch let e as ModelError {
            let parts = e.message.split(separator: ":", maxSplits: 1)
            throw reader.fail(String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : e.message)
        }
        return t
    }

    static func parseCircuit(_ value: Any, reader: Reader) throws -> CircuitParameters {
        var p = CircuitParameters()
        let m = try reader.mapping(value, "circuit")
        let numbers: [(String, WritableKeyPath<CircuitParameters, Double>)] = [
            ("signalScale", \.signalScale), ("timeScale", \.timeScale), ("somaResistance", \.somaResistance),
            ("integratorResistance", \.integratorResistance), ("stageResistance", \.stageResistance), ("enableRise", \.enableRise),
        ]
        try reader.keys(m, allowed: Set(numbers.map(\.0) + ["opamp", "device", "wire", "activation", "temperature", "deviceSeed", "tranStep", "tranStop", "maxStep", "oneSidedCells", "include", "allowUnsafeInclude", "trimFiniteGain", "dcReadNoise", "converters"]), at: "circuit")
        if let v = m["converters"] {
            let conv = try reader.mapping(v, "circuit.converters")
            try reader.keys(conv, allowed: ["input", "read", "write"], at: "circuit.converters")
            for (key, path) in [("input", \Converters.input), ("read", \.read), ("write", \.write)] {
                guard let q = conv[key] else { continue }
                let at = "circuit.converters.\(key)"
                let spec = try reader.mapping(q, at)
                try reader.keys(spec, allowed: ["bits", "range"], at: at)
                guard let b = spec["bits"] else { throw reader.fail("\(at).bits", "missing (the converter's resolution, 2…24)") }
                let bits = try reader.int(b, "\(at).bits")
                let range = try spec["range"].map { try reader.double($0, "\(at).range") } ?? 1
                p.converters[keyPath: path] = Quantizer(bits: bits, range: range)
            }
        }
        if let v = m["temperature"] { p.temperature = try reader.double(v, "circuit.temperature") }
        if let v = m["activation"] {
            let a = try reader.mapping(v, "circuit.activation")
            try reader.keys(a, allowed: ["model", "tailCurrent", "loadResistance", "beta", "transconductance", "aspectRatio", "gateGain", "stages"], at: "circuit.activation")
            let stages = try a["stages"].map { v -> PairStages in
                let text = try reader.string(v, "circuit.activation.stages")
                guard let st = PairStages(rawValue: text) else {
                    throw reader.fail("circuit.activation.stages", "unknown '\(text)' (expected ideal or circuit)")
                }
                return st
            } ?? .ideal
            switch try a["model"].map({ try reader.string($0, "circuit.activation.model") }) ?? "behavioral" {
            case "behavioral":
                guard a.keys.allSatisfy({ $0 == "model" }) else {
                    throw reader.fail("circuit.activation", "model behavioral takes no parameters")
                }
                p.activation = .behavioral
            case "bjt-pair":
                var pair = BJTPairActivation()
                let keys: [(String, WritableKeyPath<BJTPairActivation, Double>)] = [("tailCurrent", \.tailCurrent), ("loadResistance", \.loadResistance), ("beta", \.beta)]
                for (key, path) in keys { try reader.number(a, key, "circuit.activation", &pair[keyPath: path]) }
                pair.stages = stages
                p.activation = .bjtPair(pair)
                if a["transconductance"] != nil || a["aspectRatio"] != nil || a["gateGain"] != nil {
                    throw reader.fail("circuit.activation", "transconductance, aspectRatio and gateGain belong to the MOS pairs")
                }
            case "mos-pair":
                var pair = MOSPairActivation()
                let keys: [(String, WritableKeyPath<MOSPairActivation, Double>)] = [
                    ("tailCurrent", \.tailCurrent), ("loadResistance", \.loadResistance), ("transconductance", \.transconductance), ("aspectRatio", \.aspectRatio),
                ]
                guard a["beta"] == nil else { throw reader.fail("circuit.activation.beta", "belongs to model bjt-pair") }
                guard a["gateGain"] == nil else { throw reader.fail("circuit.activation.gateGain", "belongs to model mos-pair-bsim4") }
                for (key, path) in keys { try reader.number(a, key, "circuit.activation", &pair[keyPath: path]) }
                pair.stages = stages
                p.activation = .mosPair(pair)
            case "mos-pair-bsim4":
                var pair = BSIM4PairActivation()
                let keys: [(String, WritableKeyPath<BSIM4PairActivation, Double>)] = [
                    ("tailCurrent", \.tailCurrent), ("loadResistance", \.loadResistance), ("aspectRatio", \.aspectRatio), ("gateGain", \.gateGain),
                ]
                guard stages == .ideal else {
                    throw reader.fail("circuit.activation.stages", "mos-pair-bsim4 drives its gates differentially and has ideal stages only")
                }
                for key in ["beta", "transconductance"] where a[key] != nil {
                    throw reader.fail("circuit.activation.\(key)", "does not belong to model mos-pair-bsim4 (its devices come from the PTM 45 nm card)")
                }
                for (key, path) in keys { try reader.number(a, key, "circuit.activation", &pair[keyPath: path]) }
                p.activation = .bsim4Pair(pair)
            case let other: throw reader.fail("circuit.activation.model", "unknown model '\(other)' (expected behavioral, bjt-pair, mos-pair or mos-pair-bsim4)")
            }
        }
        if let v = m["wire"] {
            let w = try reader.mapping(v, "circuit.wire")
            let keys: [(String, WritableKeyPath<CrossbarWires, Double>)] = [
                ("rowResistance", \.rowSegment), ("columnResistance", \.columnSegment), ("driverResistance", \.driver), ("tiaResistance", \.rowEnd),
                ("segmentCapacitance", \.segmentCapacitance),
            ]
            try reader.keys(w, allowed: Set(keys.map(\.0) + ["exactMapEvery"]), at: "circuit.wire")
            for (key, path) in keys { try reader.number(w, key, "circuit.wire", &p.wire[keyPath: path]) }
            try reader.integer(w, "exactMapEvery", "circuit.wire", &p.wire.exactMapEvery)
        }
        for (key, path) in numbers { try reader.number(m, key, "circuit", &p[keyPath: path]) }
        if let v = m["deviceSeed"] { p.deviceSeed = try reader.seed(v, "circuit.deviceSeed") }
        if let v = m["tranStep"] { p.tranStep = try reader.double(v, "circuit.tranStep") }
        if let v = m["tranStop"] { p.tranStop = try reader.double(v, "circuit.tranStop") }
        if let v = m["maxStep"] { p.maxStep = try reader.double(v, "circuit.maxStep") }
        if let v = m["oneSidedCells"] { p.oneSidedCells = try reader.bool(v, "circuit.oneSidedCells") }
        if let v = m["include"] {
            p.include = try reader.list(v, "circuit.include").enumerated().map { try reader.string($0.element, "circuit.include[\($0.offset)]") }
        }
        for (key, path) in [("allowUnsafeInclude", \CircuitParameters.allowUnsafeInclude), ("trimFiniteGain", \.trimFiniteGain), ("dcReadNoise", \.dcReadNoise)] {
            guard let v = m[key] else { continue }
            guard let b = v as? Bool else { throw reader.fail("circuit.\(key)", "expected true or false") }
            p[keyPath: path] = b
        }
        if let v = m["opamp"] {
            let o = try reader.mapping(v, "circuit.opamp")
            try reader.keys(o, allowed: ["model", "gain", "gbw", "rail", "slewRate", "swing", "offsetSigma", "biasCurrent",
                                         "tailCurrent", "outputCurrent", "compensation"], at: "circuit.opamp")
            let gain = try o["gain"].map { try reader.double($0, "circuit.opamp.gain") } ?? 1e5
            let model = try o["model"].map { try reader.string($0, "circuit.opamp.model") } ?? "ideal"
            switch model {
            case "ideal": p.opAmp = .ideal(gain: gain)
            case "single-pole":
                let gbw = try o["gbw"].map { try reader.double($0, "circuit.opamp.gbw") } ?? 1e7
                let rail = try o["rail"].map { try reader.double($0, "circuit.opamp.rail") } ?? 0
                p.opAmp = .singlePole(gain: gain, gbw: gbw, rail: rail)
            case "macromodel":
                var m = OpAmpMacromodel(gain: gain)
                let keys: [(String, WritableKeyPath<OpAmpMacromodel, Double>)] = [
                    ("gbw", \.gbw), ("slewRate", \.slewRate), ("swing", \.swing), ("offsetSigma", \.offsetSigma), ("biasCurrent", \.biasCurrent),
                ]
                for (key, path) in keys { try reader.number(o, key, "circuit.opamp", &m[keyPath: path]) }
                if let (key, reason) = m.problem { throw reader.fail("circuit.opamp.\(key)", reason) }
                p.opAmp = .macromodel(m)
            case "cmos-two-stage":
                var cmos = CMOSTwoStageOpAmp()
                let keys: [(String, WritableKeyPath<CMOSTwoStageOpAmp, Double>)] = [
                    ("tailCurrent", \.tailCurrent), ("outputCurrent", \.outputCurrent), ("compensation", \.compensation),
                ]
                for key in ["gain", "gbw", "rail", "slewRate", "swing", "offsetSigma", "biasCurrent"] where o[key] != nil {
                    throw reader.fail("circuit.opamp.\(key)", "does not apply to cmos-two-stage (its gain and bandwidth follow from its transistors)")
                }
                for (key, path) in keys { try reader.number(o, key, "circuit.opamp", &cmos[keyPath: path]) }
                if let (key, reason) = cmos.problem { throw reader.fail("circuit.opamp.\(key)", reason) }
                p.opAmp = .cmosTwoStage(cmos)
            default: throw reader.fail("circuit.opamp.model", "unknown model '\(model)' (expected ideal, single-pole, macromodel or cmos-two-stage)")
            }
        }
        if let v = m["device"] {
            let d = try reader.mapping(v, "circuit.device")
            let dn: [(String, WritableKeyPath<DeviceModel, Double>)] = [
                ("gMin", \.gMin), ("gMax", \.gMax), ("programmingNoise", \.programmingNoise),
                ("stuckOnFraction", \.stuckOnFraction), ("stuckOffFraction", \.stuckOffFraction),
                ("driftTime", \.driftTime), ("driftReferenceTime", \.driftReferenceTime), ("driftNu", \.driftNu), ("driftNuSpread", \.driftNuSpread),
                ("deviceVariation", \.deviceVariation), ("readNoise", \.readNoise), ("readNoise1f", \.readNoise1f),
                ("nonlinearityVoltage", \.nonlinearityVoltage),
            ]
            try reader.keys(d, allowed: Set(dn.map(\.0) + ["levels", "bits", "wMax", "preset", "programmingNoisePolynomial"]), at: "circuit.device")
            if let name = d["preset"] {
                let preset = try reader.string(name, "circuit.device.preset")
                guard let model = DeviceModel.preset(preset) else {
                    throw reader.fail("circuit.device.preset", "unknown preset '\(preset)' (expected \(DeviceModel.presetNames.joined(separator: " or ")))")
                }
                p.device = model
            }
            if let list = d["programmingNoisePolynomial"] {
                p.device.programmingNoisePolynomial = try reader.list(list, "circuit.device.programmingNoisePolynomial").enumerated()
                    .map { try reader.double($0.element, "circuit.device.programmingNoisePolynomial[\($0.offset)]") }
            }
            for (key, path) in dn { try reader.number(d, key, "circuit.device", &p.device[keyPath: path]) }
            try reader.integer(d, "levels", "circuit.device", &p.device.levels)
            if let b = d["bits"] {
                let bits = try reader.int(b, "circuit.device.bits")
                guard (1...24).contains(bits) else { throw reader.fail("circuit.device.bits", "must be 1…24, got \(bits)") }
                p.device.levels = 1 << bits
            }
            if let w = d["wMax"] { p.device.wMax = try reader.double(w, "circuit.device.wMax") }
        }
        do { try p.validate() } catch let e as InvalidElementError {
            throw reader.fail(e.element, e.reason)
        }
        // Refused when the file is read, not when a netlist is first written (which `init`
        // or `solve` never do): an unsafe fragment in a config is an error of the config.
        do { _ = try checkFragment(p.include, allowUnsafe: p.allowUnsafeInclude) } catch let e as UnsafeFragmentError {
            throw reader.fail("circuit.include", e.description)
        }
        return p
    }

    /// Typed access to the untyped YAML tree, with the file and key path in every error.
    struct Reader {
        let file: String

        func fail(_ field: String, _ reason: String) -> InputError { InputError(file: file, field: field, reason) }

        func keys(_ m: [String: Any], allowed: Set<String>, at path: String?) throws {
            for k in m.keys.sorted() where !allowed.contains(k) {
                let field = path.map { "\($0).\(k)" } ?? k
                throw fail(field, "unknown key (allowed here: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        func mapping(_ v: Any, _ field: String) throws -> [String: Any] {
            guard let m = v as? [String: Any] else { throw fail(field, "expected a mapping of keys") }
            return m
        }

        func list(_ v: Any, _ field: String) throws -> [Any] {
            guard let l = v as? [Any] else { throw fail(field, "expected a list") }
            return l
        }

        func string(_ v: Any, _ field: String) throws -> String {
            if let s = v as? String { return s }
            throw fail(field, "expected text, found \(describe(v))")
        }

        func double(_ v: Any, _ field: String) throws -> Double {
            let x: Double
            // YAML 1.1 reads 1e-3 (no dot) as text, so numeric text is accepted too.
            if let d = v as? Double { x = d } else if let i = v as? Int { x = Double(i) } else if let s = v as? String, let d = Double(s) { x = d } else {
                throw fail(field, "expected a number, found \(describe(v))")
            }
            guard x.isFinite else { throw fail(field, "must be finite, found \(x)") }
            return x
        }

        func int(_ v: Any, _ field: String) throws -> Int {
            if let i = v as? Int { return i }
            if let d = v as? Double, d.isFinite, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
            throw fail(field, "expected a whole number, found \(describe(v))")
        }

        func seed(_ v: Any, _ field: String) throws -> UInt64 {
            let i = try int(v, field)
            guard i >= 0 else { throw fail(field, "must be ≥ 0, found \(i)") }
            return UInt64(i)
        }

        func intList(_ v: Any, _ field: String) throws -> [Int] {
            try list(v, field).enumerated().map { try int($0.element, "\(field)[\($0.offset)]") }
        }

        func bool(_ v: Any, _ field: String) throws -> Bool {
            guard let b = v as? Bool else { throw fail(field, "expected true or false, found \(describe(v))") }
            return b
        }

        func choice<T: RawRepresentable & CaseIterable>(_ v: Any, _ field: String, _ type: T.Type) throws -> T where T.RawValue == String {
            let s = try string(v, field)
            guard let c = T(rawValue: s) else {
                throw fail(field, "unknown value '\(s)' (expected one of: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return c
        }

        func number(_ m: [String: Any], _ key: String, _ path: String, _ target: inout Double) throws {
            if let v = m[key] { target = try double(v, "\(path).\(key)") }
        }

        func integer(_ m: [String: Any], _ key: String, _ path: String, _ target: inout Int) throws {
            if let v = m[key] { target = try int(v, "\(path).\(key)") }
        }

        func describe(_ v: Any) -> String {
            if let s = v as? String { return "'\(s.prefix(40))'" }
            if v is [Any] { return "a list" }
            if v is [String: Any] { return "a mapping" }
            return "\(v)"
        }
    }
}
