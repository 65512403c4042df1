import ArgumentParser
import DFC
import Emulation
import Circuit
import Foundation
import Sweep
import Training

struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Summarize training runs as a Markdown table beside the DFC paper's Table 1.",
        discussion: """
        Runs are grouped by variant (from RUN/checkpoint.json) and by config: runs whose \
        RUN/config.yaml differ in more than the seed, the name, the epoch count and the \
        checkpoint interval are separate rows, labelled by config name (or, when the names \
        agree, by their first run's directory, "SWEEP point N" for a sweep's run). For each group, as mean ± std \
        over the runs (seeds): the test error of the epoch with the lowest validation error \
        (the paper's Table 1 selection; "—" for runs without a validation split) and of the \
        last epoch; then epochs, the median wall seconds \
        per epoch of training work (forward updates, optimizer, reprogramming and the epoch's feedback \
        passes; not the end-of-epoch evaluation), the one-time feedback pre-training, and \
        the published Fashion-MNIST test error.

        --deployed adds the other half of the hardware table: sweeps of `dfcspice evaluate` \
        (an ideal model programmed onto hardware, no training), one row per hardware setting \
        with the test error as mean ± std over the device seeds, beside the ideal weights'.

        Example:
          dfcspice table --runs runs/fm-bp-s1 runs/fm-bp-s2 runs/fm-dfc-ssa
          dfcspice table --runs runs/fm-hardware-main/points/*/out/run \\
              --deployed runs/fm-hardware-deploy runs/fm-hardware-ir-drop-deploy
        """
    )

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Run directories.", valueName: "RUN")) var runs: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Sweep directories of `dfcspice evaluate` points (trained ideal, deployed).", valueName: "SWEEP"))
    var deployed: [String] = []

    /// Table 1 of the DFC paper, Fashion-MNIST test error (%). Its "DFA" row is what the
    /// published code runs as DFA, `ddtp-linear` here; textbook `dfa` is shown beside it too.
    static let published: [String: Double] = [
        "bp": 10.60, "dfc": 11.17, "dfc-ssa": 11.28, "dfc-ss": 11.15, "dfc-fixed": 11.62,
        "dfc-ssa-fixed": 11.44, "dfc-ss-fixed": 11.55, "dfa": 11.38, "ddtp-linear": 11.38,
    ]

    /// What makes two runs one experiment: RUN/config.yaml but for the seed, the name, the
    /// epoch count and the checkpoint interval. Runs whose file is missing or unreadable (from
    /// before run directories kept their config) have none and group by variant alone.
    struct Setup: Equatable {
        var model: Configuration
        var training: TrainingParameters
        var circuit: CircuitParameters

        init(_ e: Experiment) {
            model = e.model
            model.seed = 0
            model.name = ""
            training = e.training
            training.epochs = 0
            training.checkpointEvery = 0
            circuit = e.circuit
            // Op-amp offsets follow the config's seed when no device seed is set: a seed, not a setup.
            if circuit.deviceSeed == nil, case .macromodel(var m) = circuit.opAmp {
                m.seed = 0
                circuit.opAmp = .macromodel(m)
            }
        }
    }

    /// A run directory's short name: "SWEEP point N" for a sweep point's run
    /// (SWEEP/points/N/out/run), else its last component.
    static func runLabel(_ dir: URL) -> String {
        let parts = dir.standardizedFileURL.pathComponents
        guard parts.count >= 5, parts[parts.count - 1] == "run", parts[parts.count - 2] == "out",
              parts[parts.count - 4] == "points", let index = Int(parts[parts.count - 3]) else { return dir.lastPathComponent }
        return "\(parts[parts.count - 5]) point \(index)"
    }

    struct Row {
        var variant: String
        var setup: Setup?
        /// The config's name and the first run's directory, to tell rows of one variant apart.
        var name: String
        var firstRun: String
        /// Test error (%) at the epoch with the lowest validation error, as the paper's Table 1; nil for runs without a validation split.
        var selected: [Double?] = []
        var last: [Double] = []
        var epochs: [Int] = []
        var seconds: [Double] = []
        var pretrain: [Double] = []
    }

    /// Seconds per epoch with two significant figures at least: `bp`'s 1.75 s is not 1.8 s.
    static func seconds(_ value: Double) -> String {
        String(format: value < 10 ? "%.2f" : "%.1f", value)
    }

    /// "mean" or "mean ± std" (sample std) of `values`, "—" when there are none.
    static func summary(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "—" }
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return String(format: "%.2f", mean) }
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        return String(format: "%.2f ± %.2f", mean, std)
    }

    func run() throws {
        guard !runs.isEmpty || !deployed.isEmpty else { throw ValidationError("give at least one --runs or --deployed directory") }
        // Read every sweep first: a bad one fails before anything is printed.
        let sweeps = try deployed.map { try Self.deployedTable(URL(fileURLWithPath: $0)) }
        if !runs.isEmpty { try trainingTable() }
        for (k, table) in sweeps.enumerated() { print((runs.isEmpty && k == 0 ? "" : "\n") + table, terminator: "") }
    }

    /// One sweep of `evaluate` points as rows: its swept settings, the test error on the
    /// hardware and with the ideal weights (%, mean ± std over the seed keys), and the points.
    static func deployedTable(_ dir: URL) throws -> String {
        let collection: SweepCollection
        do { collection = try SweepCollection.read(directory: dir) } catch let e as InputError { throw e } catch {
            throw InputError(file: dir.path, "not a sweep directory (\(error.localizedDescription))")
        }
        guard collection.manifest.command == .evaluate else {
            throw InputError(file: dir.path, "a sweep of `\(collection.manifest.command.rawValue)`; --deployed takes sweeps of `evaluate`")
        }
        let axes = collection.groupAxes.map(\.key)
        let seeds = collection.manifest.axes.filter(\.isSeed).map(\.key)
        var out = "Deployed (trained ideal, evaluated on the hardware): \(collection.manifest.name), \(collection.results.count) of "
            + "\(collection.manifest.points) points\(seeds.isEmpty ? "" : ", mean ± std over " + seeds.joined(separator: " × "))\n\n"
        // Classification: test error in %; regression (student–teacher): the mean test loss.
        let classification = collection.metrics.contains("errorRate")
        let (measure, ideal, scale, format) = classification
            ? ("errorRate", "idealErrorRate", 100.0, "%.2f") : ("meanLoss", "idealMeanLoss", 1.0, "%.4g")
        let names = classification ? ["test error on the hardware (%)", "ideal weights (%)"] : ["test loss on the hardware", "ideal weights"]
        out += "| " + (axes + names + ["points"]).joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: axes.count + 3) + "\n"
        func cell(_ g: SweepCollection.Group, _ key: String) -> String {
            guard let mu = g.mean[key] else { return "—" }
            let value = String(format: format, scale * mu)
            return g.count > 1 ? value + " ± " + String(format: format, scale * (g.std[key] ?? 0)) : value
        }
        for g in collection.groups {
            out += "| " + (g.values + [cell(g, measure), cell(g, ideal), String(g.count)]).joined(separator: " | ") + " |\n"
        }
        return out
    }

    func trainingTable() throws {
        var rows: [Row] = []
        for run in runs {
            let dir = URL(fileURLWithPath: run)
            let checkpointPath = dir.appendingPathComponent("checkpoint.json").path
            guard let data = FileManager.default.contents(atPath: checkpointPath) else { throw InputError(file: checkpointPath, "not found") }
            let checkpoint: TrainingCheckpoint
            do { checkpoint = try TrainingCheckpoint.decoder.decode(TrainingCheckpoint.self, from: data) } catch {
                throw InputError(file: checkpointPath, "not a dfcspice checkpoint")
            }
            guard let last = checkpoint.metrics.last, last.epoch > 0 else { throw InputError(file: checkpointPath, "no finished epoch") }
            guard let error = last.testError else { throw InputError(file: checkpointPath, "not a classification run (no test error)") }
            let key = checkpoint.backend == "ideal" ? checkpoint.variant : "\(checkpoint.variant) (\(checkpoint.backend))"
            let experiment = try? ConfigurationLoader.loadExperiment(path: dir.appendingPathComponent("config.yaml").path)
            let setup = experiment.map(Setup.init)
            let index = rows.firstIndex { $0.variant == key && $0.setup == setup } ?? {
                rows.append(Row(variant: key, setup: setup, name: experiment?.model.name ?? "", firstRun: Self.runLabel(dir)))
                return rows.count - 1
            }()
            var row = rows[index]
            let trained = checkpoint.metrics.dropFirst()
            let best = trained.filter { $0.validationError != nil && $0.testError != nil }.min { $0.validationError! < $1.validationError! }
            row.selected.append(best.map { 100 * $0.testError! })
            row.last.append(100 * error)
            row.epochs.append(last.epoch)
            // The median: robust to the epochs another job on the machine slowed down.
            let sorted = trained.map(\.seconds).sorted()
            row.seconds.append(sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                               : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
            row.pretrain.append(trained.compactMap { $0.phases?["pretrain"] }.reduce(0, +))
            rows[index] = row
        }
        var out = "| variant | test error at best validation epoch (%) | last epoch (%) | runs | epochs | s per epoch (median) | Q pre-training (s) | paper (%) |\n|---|---|---|---|---|---|---|---|\n"
        for r in rows.enumerated().sorted(by: { ($0.element.variant, $0.offset) < ($1.element.variant, $1.offset) }).map(\.element) {
            let siblings = rows.filter { $0.variant == r.variant }
            let names = Set(siblings.map(\.name))
            let key = siblings.count == 1 ? r.variant
                : "\(r.variant) [\(names.count == siblings.count && !r.name.isEmpty ? r.name : r.firstRun)]"
            let base = String(r.variant.split(separator: " ").first ?? "")
            let pretrain = r.pretrain.reduce(0, +) / Double(r.pretrain.count)
            let selected = r.selected.compactMap { $0 }
            out += String(format: "| %@ | %@ | %@ | %d | %@ | %@ | %@ | %@ |\n", key,
                          selected.count == r.selected.count ? Self.summary(selected) : "—", Self.summary(r.last),
                          r.last.count, Set(r.epochs).sorted().map(String.init).joined(separator: ", "),
                          Self.seconds(r.seconds.reduce(0, +) / Double(r.seconds.count)), pretrain > 0 ? String(format: "%.0f", pretrain) : "—",
                          Self.published[base].map { String(format: "%.2f", $0) } ?? "—")
        }
        print(out, terminator: "")
    }
}
