import Circuit
import DFC
import Foundation
import LinearAlgebra
import NumPyFormat
import Testing
@testable import Training

@Suite("Config files")
struct ConfigurationLoaderTests {
    let minimal = """
    network:
      sizes: [3, 4, 2]
    """

    @Test("defaults are the paper's, and every section is read")
    func readsEverything() throws {
        let c = try ConfigurationLoader.parse("""
        name: t
        seed: 7
        variant: dfc-ssa
        network: {sizes: [3, 4, 4, 2], activations: [relu, sigmoid, linear], loss: cross-entropy, feedbackInit: weight-product}
        dfc: {kp: 2, alpha: 1e-3, lambda: 0.1, tauV: 0.1, tauU: 2, dt: 0.01, steps: 50, sigma: 0.01, traceStride: 5}
        feedback: {kp: 0.1, alpha: 0.2, tauV: 0.01, apicalTau: 0.2, dt: 0.001, steps: 10, sigma: 0.3, decay: 0.1}
        conventions: {preset: code, leak: integral}
        diagnostics: {samples: 4}
        """)
        #expect(c.seed == 7 && c.variant == .dfcSSA && c.sizes == [3, 4, 4, 2])
        #expect(c.activations == [.relu, .sigmoid, .linear] && c.loss == .crossEntropy && c.feedbackInit == .weightProduct)
        #expect(c.control.alpha == 1e-3 && c.control.steps == 50 && c.feedback.decay == 0.1)
        #expect(c.conventions.leak == .integral && c.conventions.lossReduction == .mean && c.conventions.transmission == .instantaneous)
        #expect(c.diagnosticSamples == 4)
        let paper = try ConfigurationLoader.parse(minimal)
        #expect(paper.conventions == Conventions())
        #expect(paper.activations == [.tanh, .linear])
    }

    @Test("the published code's Q_L = I and leading feedback pass are read, and off by default")
    func outputFeedbackAndLeadingPass() throws {
        let e = try ConfigurationLoader.parseExperiment("""
        network: {sizes: [3, 4, 2], outputFeedback: identity}
        training: {feedbackPassFirst: true}
        """)
        #expect(e.model.outputFeedback == .identity && e.training.feedbackPassFirst)
        let d = try ConfigurationLoader.parseExperiment(minimal)
        #expect(d.model.outputFeedback == .learned && !d.training.feedbackPassFirst)
    }

    @Test("the feedback optimizer's own ε, clip norm and state are read; by default it is the forward one's, shared")
    func feedbackOptimizerKeys() throws {
        let e = try ConfigurationLoader.parseExperiment("""
        network: {sizes: [3, 4, 2]}
        training: {optimizer: adam, epsilon: 1e-7, clipNorm: 1, feedbackEpsilon: 1e-8, feedbackClipNorm: 0, separateFeedbackOptimizers: true}
        """)
        let q = e.training.feedbackOptimizer(rate: 0.1)
        #expect(q.epsilon == 1e-8 && q.clipNorm == 0 && q.learningRate == 0.1 && q.kind == .adam)
        #expect(e.training.separateFeedbackOptimizers)
        let d = try ConfigurationLoader.parseExperiment("""
        network: {sizes: [3, 4, 2]}
        training: {optimizer: adam, epsilon: 1e-7, clipNorm: 1}
        """)
        let shared = d.training.feedbackOptimizer(rate: 0.1)
        #expect(shared.epsilon == 1e-7 && shared.clipNorm == 1 && !d.training.separateFeedbackOptimizers)
    }

    @Test("JSON configs are read too")
    func json() throws {
        let c = try ConfigurationLoader.parse(#"{"network": {"sizes": [2, 2]}, "dfc": {"kp": 0.5}}"#)
        #expect(c.control.kp == 0.5)
    }

    @Test("bad configs name the field and the reason", arguments: [
        ("network: {sizes: [3, 4, 2], activations: [tanh, swish]}", "network.activations[1]"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {kP: 1}", "dfc.kP"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {alpha: abc}", "dfc.alpha"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {tauV: -1}", "dfc.tauV"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {steps: 1.5}", "dfc.steps"),
        ("network: {sizes: [3, 0, 2]}", "network.sizes[1]"),
        ("network: {sizes: [3, 4, 2]}\nvariant: dfx", "variant"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {alpha: .nan}", "dfc.alpha"),
        ("network: {sizes: [3, 4, 2]}\ndfc: {dt: 0.5, tauV: 0.2}", "dfc.dt"),
        ("network: {sizes: [3, 4, 2], activations: [tanh]}", "network.activations"),
        ("dfc: {kp: 1}", "network.sizes"),
        ("surprise: 1\nnetwork: {sizes: [2, 2]}", "surprise"),
        ("network: {sizes: [3, 4, 2], outputFeedback: frozen}", "network.outputFeedback"),
        ("network: {sizes: [3, 4, 2]}\ntraining: {feedbackPassFirst: 3}", "training.feedbackPassFirst"),
        ("network: {sizes: [3, 4, 2]}\ntraining: {separateFeedbackOptimizers: yes please}", "training.separateFeedbackOptimizers"),
        ("network: {sizes: [3, 4, 2]}\ntraining: {feedbackClipNorm: -1}", "training.feedbackClipNorm"),
        ("network: {sizes: [3, 4, 2]}\ntraining: {feedbackEpsilon: 0}", "training.feedbackEpsilon"),
        ("network: {sizes: [3, 4, 2]}\ntraining: {feedbackEpsilon: .inf}", "training.feedbackEpsilon"),
    ])
    func badFields(text: String, field: String) {
        do {
            _ = try ConfigurationLoader.parse(text, file: "c.yaml")
            Issue.record("accepted a bad config: \(text)")
        } catch let e as InputError {
            #expect(e.file == "c.yaml")
            #expect(e.field == field, "\(e)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("malformed YAML, a non-mapping and a missing file are one-line errors")
    func malformed() {
        #expect(throws: InputError.self) { try ConfigurationLoader.parse("network: [unclosed") }
        #expect(throws: InputError.self) { try ConfigurationLoader.parse("- just\n- a list") }
        #expect(throws: InputError.self) { try ConfigurationLoader.load(path: "/nonexistent/c.yaml") }
        do { _ = try ConfigurationLoader.parse("network: [unclosed", file: "x.yaml") } catch {
            #expect(!"\(error)".contains("\n"))
        }
    }
}

@Suite("Model files")
struct ModelFileTests {
    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a model survives a round trip and its seed is stored")
    func roundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = Configuration()
        c.sizes = [3, 4, 2]
        c.activations = [.tanh, .linear]
        let net = try Network.initialized(c, seed: 5)
        let path = dir.appendingPathComponent("m.npz").path
        try ModelFile.write(net, seed: 5, to: path)
        #expect(try ModelFile.read(path: path, activations: c.activations) == net)
        #expect(try NPZ(contentsOf: URL(fileURLWithPath: path))["seed"]?.data == [5])
    }

    @Test("missing arrays, wrong shapes, NaN and extra layers are refused with the array's name",
          arguments: ["missing", "shape", "nan", "extra", "rank"])
    func badModels(problem: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = Configuration()
        c.sizes = [3, 4, 2]
        c.activations = [.tanh, .linear]
        var arrays = ModelFile.arrays(of: try Network.initialized(c, seed: 5))
        let field: String
        switch problem {
        case "missing": arrays["Q2"] = nil; field = "Q2"
        case "shape": arrays["W2"] = NDArray(Matrix(rows: 2, columns: 5)); field = "W2"
        case "nan": arrays["b1"] = NDArray(vector: [0, .nan, 0, 0]); field = "b1"
        case "extra": arrays["W3"] = NDArray(Matrix(rows: 2, columns: 2)); field = "W3"
        default: arrays["b2"] = NDArray(Matrix(rows: 2, columns: 1)); field = "b2"
        }
        let path = dir.appendingPathComponent("m.npz").path
        try NPZ(arrays).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ModelFile.read(path: path, activations: c.activations)
            Issue.record("accepted a bad model (\(problem))")
        } catch let e as InputError {
            #expect(e.description.contains(field), "\(e)")
        }
    }

    @Test("labels as class indices become one-hot; out-of-range indices are refused")
    func labels() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("y.npy").path
        try NDArray(vector: [2, 0, 1]).writeNPY(to: URL(fileURLWithPath: path))
        let y = try BatchFile.labels(path: path, outputs: 3, batch: 3)
        #expect(y == Matrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]])!)
        #expect(throws: InputError.self) { try BatchFile.labels(path: path, outputs: 2, batch: 3) }
        #expect(throws: InputError.self) { try BatchFile.labels(path: path, outputs: 3, batch: 4) }
    }

    @Test("the student–teacher task is reproducible from its seeds")
    func studentTeacher() throws {
        var c = Configuration()
        c.sizes = [4, 3, 2]
        c.activations = [.tanh, .linear]
        let a = try StudentTeacher(configuration: c, seed: 3).samples(10, seed: 4)
        let b = try StudentTeacher(configuration: c, seed: 3).samples(10, seed: 4)
        #expect(a.input == b.input && a.labels == b.labels)
        #expect(try StudentTeacher(configuration: c, seed: 3).teacher != (try Network.initialized(c, seed: 3)))
    }
}

@Suite("Circuit section of configs")
struct CircuitConfigurationTests {
    @Test("every circuit key is read")
    func readsCircuit() throws {
        let e = try ConfigurationLoader.parseExperiment("""
        network: {sizes: [2, 2, 1]}
        circuit:
          signalScale: 0.25
          timeScale: 1e-6
          trimFiniteGain: false
          opamp: {model: single-pole, gain: 2e5, gbw: 1e8, rail: 1.2}
          device: {gMin: 1e-6, gMax: 1e-4, bits: 6, programmingNoise: 0.02, stuckOnFraction: 0.01, wMax: 2}
          deviceSeed: 9
          include: [".options reltol=1e-4"]
        """)
        let p = e.circuit
        #expect(p.signalScale == 0.25 && p.timeScale == 1e-6 && !p.trimFiniteGain)
        #expect(p.opAmp == .singlePole(gain: 2e5, gbw: 1e8, rail: 1.2))
        #expect(p.device.levels == 64 && p.device.programmingNoise == 0.02 && p.device.wMax == 2 && p.deviceSeed == 9)
        #expect(p.include == [".options reltol=1e-4"])
    }

    @Test("bad circuit fields are named", arguments: [
        ("circuit: {signalScale: 0}", "circuit.signalScale"),
        ("circuit: {opamp: {model: tube}}", "circuit.opamp.model"),
        ("circuit: {device: {bits: 40}}", "circuit.device.bits"),
        ("circuit: {device: {levels: 1}}", "circuit.device.levels"),
        ("circuit: {device: {stuckOnFraction: 0.8, stuckOffFraction: 0.5}}", "circuit.device.stuckOnFraction"),
        ("circuit: {trimFiniteGain: maybe}", "circuit.trimFiniteGain"),
        ("circuit: {resistance: 5}", "circuit.resistance"),
    ])
    func badCircuit(text: String, field: String) {
        do {
            _ = try ConfigurationLoader.parseExperiment("network: {sizes: [2, 1]}\n" + text, file: "c.yaml")
            Issue.record("accepted \(text)")
        } catch let e as InputError {
            #expect(e.field == field, "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("Config limits")
struct ConfigLimitTests {
    func refusal(_ text: String) -> String? {
        do { _ = try ConfigurationLoader.parseExperiment(text, file: "t.yaml"); return nil } catch let e as InputError { return e.description } catch {
            return "unexpected \(error)"
        }
    }

    @Test("aliases are counted as often as they are used, and a bomb is refused before it expands")
    func aliasBomb() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (k, name) in ["b", "c", "d", "e", "f", "g"].enumerated() {
            let previous = k == 0 ? "a" : ["b", "c", "d", "e", "f"][k - 1]
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += "network: {sizes: [4, 3]}\n"
        // 10⁷ values from 400 bytes.
        #expect(refusal(text)?.contains("more than 100000 values") == true, "\(refusal(text) ?? "accepted")")
        // A modest use of aliases is fine.
        #expect(refusal("base: &b {sizes: [4, 3]}\nnetwork: *b\n")?.contains("unknown key") == true)
    }

    @Test("the fuzzer's config with a sequence as a mapping key is refused, not trapped")
    func sequenceKey() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/seeds/config/finding-yams-sequence-key.yaml")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(refusal(text) != nil)
        #expect(refusal("network: {sizes: [4, 3]}\n? [a, b]\n: 1\n")?.contains("not plain text") == true)
    }

    @Test("layers, Euler steps and transient points are bounded, sizes counted without overflow")
    func bounds() {
        #expect(refusal("network: {sizes: [\(Array(repeating: "2", count: 1_002).joined(separator: ", "))]}\n")?.contains("at most 1000") == true)
        #expect(refusal("network: {sizes: [4, 3]}\ndfc: {steps: 100000000}\n")?.contains("dfc.steps") == true)
        #expect(refusal("network: {sizes: [4, 3]}\ncircuit: {tranStep: 1e-30}\n")?.contains("circuit.tranStep") == true)
        #expect(refusal("network: {sizes: [9223372036854775807, 9223372036854775807, 2]}\n")?.contains("64-bit") == true)
        #expect(refusal("network: {sizes: [4, 3]}\ncircuit: {include: ['.control;x']}\n")?.contains("circuit.include") == true)
    }
}

@Suite("Op-amp macromodel keys")
struct OpAmpMacromodelConfigTests {
    let base = "seed: 9\nnetwork: {sizes: [4, 3]}\n"

    @Test("circuit.opamp.model: macromodel reads its keys and takes the device seed, else the config's")
    func reads() throws {
        let e = try ConfigurationLoader.parseExperiment(base + "circuit: {deviceSeed: 5, opamp: {model: macromodel, gain: 2e5, gbw: 3e6, slewRate: 1e6, swing: 2.5, offsetSigma: 1e-3, biasCurrent: 1e-9}}\n")
        #expect(e.circuit.opAmp == .macromodel(OpAmpMacromodel(gain: 2e5, gbw: 3e6, slewRate: 1e6, swing: 2.5, offsetSigma: 1e-3, biasCurrent: 1e-9, seed: 5)))
        let d = try ConfigurationLoader.parseExperiment(base + "circuit: {opamp: {model: macromodel}}\n")
        #expect(d.circuit.opAmp == .macromodel(OpAmpMacromodel(seed: 9)))
    }

    @Test("bad values end in one error naming the key", arguments: [
        ("slewRate: -1", "circuit.opamp.slewRate"), ("gbw: 0", "circuit.opamp.gbw"), ("swing: .nan", "circuit.opamp.swing"),
        ("offsetSigma: -1e-3", "circuit.opamp.offsetSigma"), ("biasCurrent: -1", "circuit.opamp.biasCurrent"), ("gain: -5", "circuit.opamp.gain"),
        ("noise: 1", "circuit.opamp.noise"),
    ])
    func refuses(entry: String, key: String) {
        do {
            _ = try ConfigurationLoader.parseExperiment(base + "circuit: {opamp: {model: macromodel, \(entry)}}\n", file: "c.yaml")
            Issue.record("accepted \(entry)")
        } catch let e as InputError {
            #expect(e.file == "c.yaml" && e.field == key, "\(e)")
        } catch {
            Issue.record("\(error)")
        }
    }
}

@Suite("Drift keys")
struct DriftConfigTests {
    @Test("circuit.device drift keys are read, and ν < 0 is refused naming the key")
    func driftKeys() throws {
        let e = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {device: {driftTime: 3600, driftNu: 0.05, driftNuSpread: 0.01, driftReferenceTime: 25}}\n")
        #expect(e.circuit.device.driftTime == 3600 && e.circuit.device.driftNu == 0.05 && e.circuit.device.driftNuSpread == 0.01
                && e.circuit.device.driftReferenceTime == 25)
        do {
            _ = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {device: {driftNu: -0.1}}\n", file: "d.yaml")
            Issue.record("accepted ν < 0")
        } catch let error as InputError {
            #expect(error.file == "d.yaml" && error.field == "circuit.device.driftNu", "\(error)")
        }
    }
}

@Suite("Wire keys")
struct WireConfigTests {
    @Test("circuit.wire keys are read; a negative resistance or a map refresh below 1 is refused naming the key")
    func wireKeys() throws {
        let e = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {wire: {rowResistance: 2, columnResistance: 3, driverResistance: 4, tiaResistance: 5}}\n")
        #expect(e.circuit.wire == CrossbarWires(rowSegment: 2, columnSegment: 3, driver: 4, rowEnd: 5))
        let followed = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {wire: {rowResistance: 2, exactMapEvery: 430}}\n")
        #expect(followed.circuit.wire.exactMapEvery == 430 && e.circuit.wire.exactMapEvery == 1)
        for (entry, key) in [("rowResistance: -5", "circuit.wire.rowResistance"), ("tiaResistance: .inf", "circuit.wire.tiaResistance"), ("sheet: 1", "circuit.wire.sheet"),
                             ("exactMapEvery: 0", "circuit.wire.exactMapEvery"), ("exactMapEvery: 2.5", "circuit.wire.exactMapEvery")] {
            do {
                _ = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {wire: {\(entry)}}\n", file: "w.yaml")
                Issue.record("accepted \(entry)")
            } catch let error as InputError {
                #expect(error.file == "w.yaml" && error.field == key, "\(error)")
            }
        }
    }
}

@Suite("Read noise in DC reads key")
struct DCReadNoiseConfigTests {
    @Test("circuit.dcReadNoise is read as a boolean, off by default; anything else names the key")
    func dcReadNoiseKey() throws {
        #expect(try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {dcReadNoise: true}\n").circuit.dcReadNoise)
        #expect(!(try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {device: {readNoise: 0.01}}\n").circuit.dcReadNoise))
        do {
            _ = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {dcReadNoise: 3}\n", file: "r.yaml")
            Issue.record("accepted dcReadNoise: 3")
        } catch let error as InputError {
            #expect(error.file == "r.yaml" && error.field == "circuit.dcReadNoise", "\(error)")
        }
    }
}

@Suite("Activation circuit keys")
struct ActivationConfigTests {
    @Test("circuit.activation and circuit.temperature are read; bad values name the key")
    func keys() throws {
        let e = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {temperature: 60, activation: {model: bjt-pair, tailCurrent: 2e-4, loadResistance: 4e3, beta: 200}}\n")
        #expect(e.circuit.activation == .bjtPair(BJTPairActivation(tailCurrent: 2e-4, loadResistance: 4e3, beta: 200)) && e.circuit.temperature == 60)
        let mos = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {activation: {model: mos-pair, aspectRatio: 20}}\n")
        #expect(mos.circuit.activation == .mosPair(MOSPairActivation(aspectRatio: 20)))
        let bsim = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {activation: {model: mos-pair-bsim4, gateGain: 0.11}}\n")
        #expect(bsim.circuit.activation == .bsim4Pair(BSIM4PairActivation(gateGain: 0.11)))
        for (entry, key) in [("activation: {model: jfet-pair}", "circuit.activation.model"), ("activation: {model: bjt-pair, beta: 0}", "circuit.activation.beta"),
                             ("activation: {model: mos-pair, beta: 10}", "circuit.activation.beta"),
                             ("activation: {model: mos-pair, transconductance: -1}", "circuit.activation.transconductance"),
                             ("activation: {model: mos-pair-bsim4, beta: 10}", "circuit.activation.beta"),
                             ("activation: {model: mos-pair-bsim4, gateGain: 0}", "circuit.activation.gateGain"),
                             ("activation: {model: mos-pair, gateGain: 0.1}", "circuit.activation.gateGain"),
                             ("temperature: -300", "circuit.temperature"), ("activation: {model: bjt-pair, loadResistance: 1e6}", "circuit.activation.loadResistance")] {
            do {
                _ = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {\(entry)}\n", file: "a.yaml")
                Issue.record("accepted \(entry)")
            } catch let error as InputError {
                #expect(error.file == "a.yaml" && error.field == key, "\(error)")
            }
        }
    }
}

@Suite("Transient and cell-form keys")
struct SolverKeysTests {
    @Test("circuit.maxStep and circuit.oneSidedCells are read; bad values and inexact combinations name the key")
    func keys() throws {
        let e = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: {maxStep: 5.0e-6, oneSidedCells: true}\n")
        #expect(e.circuit.maxStep == 5e-6 && e.circuit.oneSidedCells)
        for (entry, key) in [("maxStep: -1", "circuit.maxStep"), ("maxStep: .nan", "circuit.maxStep"), ("oneSidedCells: maybe", "circuit.oneSidedCells"),
                             ("{oneSidedCells: true, wire: {rowResistance: 1}}", "circuit.oneSidedCells")] {
            let body = entry.hasPrefix("{") ? entry : "{\(entry)}"
            do {
                _ = try ConfigurationLoader.parseExperiment("network: {sizes: [4, 3]}\ncircuit: \(body)\n", file: "a.yaml")
                Issue.record("accepted \(entry)")
            } catch let error as InputError {
                #expect(error.file == "a.yaml" && error.field == key, "\(error)")
            }
        }
    }
}

