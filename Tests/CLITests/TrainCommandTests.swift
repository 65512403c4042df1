import Foundation
import NumPyFormat
import Testing

@Suite("dfcspice train", .serialized)
struct TrainCommandTests {
    static let config = """
    name: st-kill
    seed: 5
    network: {sizes: [4, 3, 2], loss: mse, feedbackInit: weight-product}
    dfc: {dt: 0.01, steps: 200}
    training: {optimizer: adam, learningRate: 0.02, batchSize: 8, epochs: 2, trainSamples: 96, testSamples: 16, checkpointEvery: 16}
    """

    @Test("SIGKILL during a SPICE run loses at most the samples since the last checkpoint, corrupts nothing, and resume ends where an unbroken run ends")
    func killAndResume() throws {
        let w = try Workspace()
        defer { w.remove() }
        try Self.config.write(to: w.url("t.yaml"), atomically: true, encoding: .utf8)
        let straight = try CLI.run(["train", "--config", w.path("t.yaml"), "--backend", "spice", "--out", w.path("straight")])
        #expect(straight.status == 0, "\(straight.stderr)")

        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["train", "--config", w.path("t.yaml"), "--backend", "spice", "--out", w.path("killed")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait for a checkpoint past the first batches, then kill without warning.
        let checkpoint = w.url("killed/checkpoint.json")
        let deadline = Date().addingTimeInterval(60)
        var seen = 0
        while Date() < deadline && p.isRunning {
            if let data = FileManager.default.contents(atPath: checkpoint.path),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let s = json["samplesSeen"] as? Int, s >= 32 {
                seen = s
                break
            }
            usleep(2_000)
        }
        try #require(p.isRunning, "the run ended before it could be killed")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(seen >= 32)
        // Every file is whole.
        let data = try #require(FileManager.default.contents(atPath: checkpoint.path))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let saved = try #require(json["samplesSeen"] as? Int)
        #expect(saved >= seen)
        _ = try NPZ(contentsOf: w.url("killed/model.npz"))
        for line in try String(contentsOf: w.url("killed/metrics.jsonl"), encoding: .utf8).split(separator: "\n") {
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8))
        }
        let resumed = try CLI.run(["train", "--config", w.path("t.yaml"), "--backend", "spice", "--resume", w.path("killed")])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed at epoch"))
        let a = try NPZ(contentsOf: w.url("straight/model.npz")), b = try NPZ(contentsOf: w.url("killed/model.npz"))
        #expect(a == b, "the resumed run ended with different weights than the unbroken one")
        for file in ["learning-curve.svg", "metrics.jsonl", "config.yaml"] { #expect(w.exists("killed/\(file)")) }
    }

    @Test("a behavioral run through wires says how it solves the IR drop, and its checkpoint names the anchors")
    func wiresLine() throws {
        let w = try Workspace()
        defer { w.remove() }
        let base = try String(contentsOf: CLI.repository.appendingPathComponent("Examples/training/st-15-10-10-5-wires.yaml"), encoding: .utf8)
        try base.replacingOccurrences(of: "tiaResistance: 10}", with: "tiaResistance: 10, exactMapEvery: 8}")
            .replacingOccurrences(of: "epochs: 10", with: "epochs: 2").write(to: w.url("w.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--config", w.path("w.yaml"), "--backend", "behavioral", "--out", w.path("run")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("IR drop: the exact map every 8 reprogrammings"), "\(r.stdout)")
        let json = try String(contentsOf: w.url("run/checkpoint.json"), encoding: .utf8)
        #expect(json.contains("irDrop.0.aPlus"), "the checkpoint names its anchors")
    }

    @Test("train refuses to overwrite a run, and resume needs a checkpoint")
    func refusals() throws {
        let w = try Workspace()
        defer { w.remove() }
        try Self.config.replacingOccurrences(of: "epochs: 2", with: "epochs: 1").write(to: w.url("t.yaml"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["train", "--config", w.path("t.yaml"), "--out", w.path("run")]).status == 0)
        let again = try CLI.run(["train", "--config", w.path("t.yaml"), "--out", w.path("run")])
        #expect(again.status != 0 && again.stderr.contains("already holds a run"), "\(again.stderr)")
        let none = try CLI.run(["train", "--config", w.path("t.yaml"), "--resume", w.path("nothing")])
        #expect(none.status != 0 && none.stderr.hasPrefix("error:"), "\(none.stderr)")
        let wrong = try CLI.run(["train", "--config", w.path("t.yaml"), "--backend", "behavioral", "--resume", w.path("run")])
        #expect(wrong.status != 0 && wrong.stderr.contains("checkpoint is of backend ideal"), "\(wrong.stderr)")
        // The run keeps its config: a resume needs only the directory; a new run needs --config.
        let resumed = try CLI.run(["train", "--resume", w.path("run")])
        #expect(resumed.status == 0 && resumed.stdout.contains("done:"), "\(resumed.stdout) \(resumed.stderr)")
        // The backend comes from the checkpoint when --backend is not given.
        #expect(try CLI.run(["train", "--config", w.path("t.yaml"), "--backend", "behavioral", "--out", w.path("hw")]).status == 0)
        let hw = try CLI.run(["train", "--resume", w.path("hw")])
        #expect(hw.status == 0 && hw.stdout.hasPrefix("behavioral "), "\(hw.stdout) \(hw.stderr)")
        let bare = try CLI.run(["train", "--out", w.path("run2")])
        #expect(bare.status != 0 && bare.stderr.contains("needs --config"), "\(bare.stderr)")
        #expect(!w.exists("run2"))
    }
}

@Suite("Learning in SPICE", .serialized)
struct SpiceLearningTests {
    /// Final test loss of a finished run, from its metrics.
    func losses(_ dir: URL) throws -> (first: Double, last: Double) {
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        func loss(_ line: Substring) throws -> Double {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(json["testLoss"] as? Double)
        }
        return (try loss(try #require(lines.first)), try loss(try #require(lines.last)))
    }

    @Test("the 4-3-2 student–teacher task: SPICE cuts the test loss ≥ 10× and ends within 2× of the ideal backend")
    func spiceLearns() throws {
        let w = try Workspace()
        defer { w.remove() }
        let config = CLI.repository.appendingPathComponent("Examples/training/st-4-3-2.yaml").path
        let ideal = try CLI.run(["train", "--config", config, "--backend", "ideal", "--out", w.path("ideal")])
        let spice = try CLI.run(["train", "--config", config, "--backend", "spice", "--workers", "2", "--out", w.path("spice")])
        #expect(ideal.status == 0 && spice.status == 0, "\(ideal.stderr) \(spice.stderr)")
        let a = try losses(w.url("ideal")), b = try losses(w.url("spice"))
        #expect(a.first == b.first, "both start from the same network and data")
        #expect(b.last <= b.first / 10, "SPICE: test loss \(b.first) → \(b.last)")
        #expect(b.last <= 2 * a.last, "SPICE ends at \(b.last), ideal at \(a.last)")
    }
}

@Suite("SPICE in the loop through the worker pool", .serialized)
struct SpicePoolTests {
    @Test("two workers, each sample's circuit loaded once and continued, train as one in-process engine loading it twice")
    func continuationMatchesReload() throws {
        let w = try Workspace()
        defer { w.remove() }
        let text = try String(contentsOf: CLI.repository.appendingPathComponent("Examples/training/st-4-3-2.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "epochs: 10", with: "epochs: 1").replacingOccurrences(of: "trainSamples: 256", with: "trainSamples: 64")
        try text.write(to: w.url("st.yaml"), atomically: true, encoding: .utf8)
        try w.expectSuccess(["train", "--config", w.path("st.yaml"), "--backend", "spice", "--workers", "1", "--out", w.path("one")])
        try w.expectSuccess(["train", "--config", w.path("st.yaml"), "--backend", "spice", "--workers", "2", "--out", w.path("two")])
        func losses(_ run: String) throws -> [Double] {
            try String(contentsOf: w.url("\(run)/metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try #require(json["testLoss"] as? Double)
            }
        }
        let a = try losses("one"), b = try losses("two")
        #expect(a.count == 2 && a.count == b.count)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) }, "\(a) against \(b)")
    }
}

@Suite("Ctrl-C during training", .serialized)
struct InterruptTests {
    @Test("SIGINT stops after the current batch with a checkpoint and exit 130, and --resume finishes the run")
    func interruptAndResume() throws {
        let w = try Workspace()
        defer { w.remove() }
        try TrainCommandTests.config.replacingOccurrences(of: "epochs: 2", with: "epochs: 40")
            .write(to: w.url("t.yaml"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["train", "--config", w.path("t.yaml"), "--backend", "spice", "--out", w.path("run")]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !FileManager.default.fileExists(atPath: w.path("run/checkpoint.json")) { usleep(5_000) }
        usleep(200_000)
        kill(p.processIdentifier, SIGINT)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // 130 = 128 + SIGINT: scripts can tell a stopped run from a finished one.
        #expect(p.terminationStatus == 130, "\(text)")
        #expect(text.contains("stopped at epoch"), "\(text)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: w.url("run/checkpoint.json"))) as? [String: Any])
        let epoch = try #require(json["epoch"] as? Int)
        #expect(epoch < 40)
        // Finish quickly: resume with fewer epochs left than the interrupted run planned.
        try TrainCommandTests.config.replacingOccurrences(of: "epochs: 2", with: "epochs: \(epoch + 1)")
            .write(to: w.url("t.yaml"), atomically: true, encoding: .utf8)
        let resumed = try CLI.run(["train", "--config", w.path("t.yaml"), "--backend", "spice", "--resume", w.path("run")])
        #expect(resumed.status == 0 && resumed.stdout.contains("done:"), "\(resumed.stdout) \(resumed.stderr)")
    }
}

@Suite("Learning Fashion-MNIST on a slice", .serialized)
struct ImageTrainingTests {
    @Test("bp and dfc-ssa-fixed on 1 000 images, 2 epochs: test error far below chance (90 %)",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func learnsImages() throws {
        let w = try Workspace()
        defer { w.remove() }
        let config = CLI.repository.appendingPathComponent("Examples/fashion-mnist/small-bp.yaml").path
        for variant in ["bp", "dfc-ssa-fixed"] {
            let r = try CLI.run(["train", "--config", config, "--variant", variant, "--data", "images", "--limit", "1000", "--out", w.path(variant)])
            #expect(r.status == 0, "\(r.stderr)")
            // The header counts what was loaded: --limit N keeps N/5 test images, validation stays whole.
            #expect(r.stdout.contains("\(variant) on fashion-mnist-small: 1000 train / 200 test / 5000 validation samples"), "\(r.stdout)")
            let last = try #require(try String(contentsOf: w.url("\(variant)/metrics.jsonl"), encoding: .utf8).split(separator: "\n").last)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            let error = try #require(json["testError"] as? Double)
            #expect(error < 0.4, "\(variant): test error \(error)")
        }
        // A resume without --data images would continue on the student–teacher task: refused, the run untouched.
        let checkpoint = try Data(contentsOf: w.url("bp/checkpoint.json"))
        let other = try CLI.run(["train", "--resume", w.path("bp")])
        #expect(other.status != 0 && other.stderr.hasPrefix("error:") && other.stderr.contains("other data")
                && other.stderr.contains("1000 train / 200 test / 5000 validation samples"), "\(other.stderr)")
        #expect(try Data(contentsOf: w.url("bp/checkpoint.json")) == checkpoint)
    }

    @Test("simulated dfc with learned Q (Q_L = I) on 1 000 images: every sample converges, Q aligns, error far below chance",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func simulatedDFCLearnsImages() throws {
        let w = try Workspace()
        defer { w.remove() }
        let config = CLI.repository.appendingPathComponent("Examples/fashion-mnist/small-dfc.yaml").path
        let r = try CLI.run(["train", "--config", config, "--data", "images", "--limit", "1000", "--out", w.path("dfc")])
        #expect(r.status == 0, "\(r.stderr)")
        let epochs = try String(contentsOf: w.url("dfc/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(epochs.count == 3)
        let start = try #require((epochs.first?["diagnostics"] as? [String: Any])?["condition2"] as? Double)
        for e in epochs.dropFirst() {
            #expect(e["converged"] as? Int == 1000, "every sample converges: \(e["converged"] ?? "-") of 1000")
        }
        let last = try #require(epochs.last)
        let error = try #require(last["testError"] as? Double)
        let aligned = try #require((last["diagnostics"] as? [String: Any])?["condition2"] as? Double)
        #expect(error < 0.5, "test error \(error)")
        #expect(aligned > 0.8 && aligned > start + 0.3, "Condition 2 \(start) → \(aligned)")
    }
}

@Suite("table and evaluate", .serialized)
struct TableTests {
    @Test("table summarizes classification runs beside the paper; evaluate programs the weights onto devices",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func tableAndEvaluate() throws {
        let w = try Workspace()
        defer { w.remove() }
        let config = CLI.repository.appendingPathComponent("Examples/fashion-mnist/small-bp.yaml").path
        for seed in ["a", "b"] {
            let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "seed: 1", with: seed == "a" ? "seed: 1" : "seed: 2")
            try text.write(to: w.url("\(seed).yaml"), atomically: true, encoding: .utf8)
            let r = try CLI.run(["train", "--config", w.path("\(seed).yaml"), "--data", "images", "--limit", "500", "--out", w.path(seed)])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let table = try CLI.run(["table", "--runs", w.path("a"), w.path("b")])
        #expect(table.status == 0, "\(table.stderr)")
        let row = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("| bp ") })
        #expect(row.contains("±") && row.contains("| 2 |") && row.contains("10.60"), "\(row)")
        // The paper's selection, recomputed from metrics.jsonl: the test error of each run's
        // epoch with the lowest validation error, averaged over the two runs.
        var selected: [Double] = [], medians: [Double] = []
        for seed in ["a", "b"] {
            let lines = try String(contentsOf: w.url("\(seed)/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            let epochs = try lines.compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { ($0["epoch"] as? Int ?? 0) > 0 }
            #expect(epochs.allSatisfy { $0["validationError"] is Double }, "every epoch records its validation error")
            let best = try #require(epochs.min { ($0["validationError"] as? Double ?? 1) < ($1["validationError"] as? Double ?? 1) })
            selected.append(100 * (best["testError"] as? Double ?? .nan))
            let seconds = epochs.compactMap { $0["seconds"] as? Double }.sorted()
            medians.append(seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2)
        }
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells[1].hasPrefix(String(format: "%.2f", (selected[0] + selected[1]) / 2)), "\(row) against \(selected)")
        // Seconds per epoch: each run's median, averaged, to two decimals below 10 s.
        #expect(cells[5] == String(format: "%.2f", (medians[0] + medians[1]) / 2), "\(row) against \(medians)")
        // A run of another config (another rate) is its own row, not averaged in.
        let other = try String(contentsOfFile: w.path("a.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "seed: 1", with: "seed: 3").replacingOccurrences(of: "learningRate:", with: "learningRate: 0.5e-3 #")
        try other.write(to: w.url("c.yaml"), atomically: true, encoding: .utf8)
        let c = try CLI.run(["train", "--config", w.path("c.yaml"), "--data", "images", "--limit", "500", "--out", w.path("c")])
        #expect(c.status == 0, "\(c.stderr)")
        let split = try CLI.run(["table", "--runs", w.path("a"), w.path("c"), w.path("b")])
        let rows = split.stdout.split(separator: "\n").filter { $0.hasPrefix("| bp") }
        #expect(rows.count == 2, "\(split.stdout)")
        #expect(rows.first { $0.hasPrefix("| bp [a] ") }?.contains("| 2 |") == true, "\(rows)")
        #expect(rows.first { $0.hasPrefix("| bp [c] ") }?.contains("| 1 |") == true, "\(rows)")
        // A sweep point's run (SWEEP/points/N/out/run) is labelled by its sweep and point.
        let pointRun = w.url("sw/points/00003/out/run")
        try FileManager.default.createDirectory(at: pointRun.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: w.url("c"), to: pointRun)
        let labelled = try CLI.run(["table", "--runs", w.path("a"), pointRun.path])
        #expect(labelled.stdout.contains("| bp [sw point 3] "), "\(labelled.stdout)")
        let bad = try CLI.run(["table", "--runs", w.path("nothing")])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("error:"))
        let e = try CLI.run(["evaluate", "--config", w.path("a.yaml"), "--model", w.path("a/model.npz"), "--device-bits", "4", "--programmings", "2"])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("ideal weights:") && e.stdout.contains("programmed (16 levels"), "\(e.stdout)")
    }
}

@Suite("evaluate after deployment")
struct DriftEvaluationTests {
    @Test("evaluate --drift-time: loss grows with time after programming, recalibration restores it, a plot is written; bad uses end in one error line")
    func driftAndRecalibration() throws {
        let w = try Workspace()
        defer { w.remove() }
        let base = try String(contentsOf: CLI.repository.appendingPathComponent("Examples/training/st-4-3-2.yaml"), encoding: .utf8)
        let config = base.replacingOccurrences(of: "epochs: 10", with: "epochs: 3")
            + "\ncircuit: {device: {bits: 6, driftNu: 0.06, driftNuSpread: 0.023, driftReferenceTime: 20}}\n"
        try config.write(to: w.url("c.yaml"), atomically: true, encoding: .utf8)
        _ = try w.expectSuccess(["train", "--config", w.path("c.yaml"), "--out", w.path("run")])
        let r = try w.expectSuccess(["evaluate", "--config", w.path("c.yaml"), "--model", w.path("run/model.npz"), "--data", "student-teacher",
                                     "--drift-time", "20", "86400", "31536000", "--recalibrate", "200", "--drift-plot", w.path("d.svg")])
        // Markdown rows "| <time> | loss | programmings | recalibrated loss |".
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("| 20 s") || $0.hasPrefix("| 1 d") || $0.hasPrefix("| 1 y") }
        #expect(rows.count == 3 && r.stdout.contains("|---|"), "\(r.stdout)")
        let losses = rows.map { $0.split(separator: "|").map { Double($0.trimmingCharacters(in: .whitespaces)) } }
        let asProgrammed = losses.compactMap { $0[1] }, recalibrated = losses.compactMap { $0[3] }
        #expect(asProgrammed.count == 3 && asProgrammed[0] < asProgrammed[1] && asProgrammed[1] < asProgrammed[2], "\(asProgrammed)")
        #expect(recalibrated.count == 3 && recalibrated[2] < asProgrammed[2] / 2, "a year's drift: \(asProgrammed[2]) → \(recalibrated)")
        #expect(try String(contentsOf: w.url("d.svg"), encoding: .utf8).contains("recalibrated"))
        // The SPICE backend has no drift-time sweep; a plot needs times to plot.
        for bad in [["--drift-time", "60", "--backend", "spice"], ["--drift-plot", w.path("e.svg")]] {
            let args = ["evaluate", "--config", w.path("c.yaml"), "--model", w.path("run/model.npz"), "--data", "student-teacher"] + bad
            let e = try CLI.run(args)
            #expect(e.status != 0 && e.stderr.hasPrefix("error:") && e.stderr.split(separator: "\n").count == 1, "\(args): \(e.stderr)")
        }
        #expect(!w.exists("e.svg"))
    }

    @Test("evaluate with circuit.dcReadNoise: both backends read through noise, the same on every run, and say so")
    func readNoiseInEveryRead() throws {
        let w = try Workspace()
        defer { w.remove() }
        let quiet = """
        name: st-read
        seed: 5
        network: {sizes: [4, 3, 2], loss: mse, feedbackInit: weight-product}
        dfc: {dt: 0.01, steps: 200}
        training: {optimizer: adam, learningRate: 0.02, batchSize: 8, epochs: 1, trainSamples: 32, testSamples: 16, checkpointEvery: 16}
        circuit: {device: {bits: 6, readNoise: 0.05}}
        """
        try quiet.write(to: w.url("q.yaml"), atomically: true, encoding: .utf8)
        try quiet.replacingOccurrences(of: "circuit: {", with: "circuit: {dcReadNoise: true, ")
            .write(to: w.url("n.yaml"), atomically: true, encoding: .utf8)
        _ = try w.expectSuccess(["train", "--config", w.path("q.yaml"), "--out", w.path("run")])
        func evaluate(_ config: String, _ backend: String) throws -> String {
            try w.expectSuccess(["evaluate", "--config", w.path(config), "--model", w.path("run/model.npz"),
                                 "--data", "student-teacher", "--backend", backend]).stdout
        }
        func hardwareLine(_ out: String) -> String {
            out.split(separator: "\n").first { $0.hasPrefix("programmed (") || $0.hasPrefix("circuit in ngspice (") }.map(String.init) ?? ""
        }
        let plain = try evaluate("q.yaml", "behavioral"), noisy = try evaluate("n.yaml", "behavioral")
        #expect(hardwareLine(noisy).contains("(in every read)") && !hardwareLine(plain).contains("(in every read)"), "\(noisy)")
        // The test loss is the line's last figure; noise moves it, and a rerun draws the same reads.
        func loss(_ out: String) -> String { hardwareLine(out).components(separatedBy: "loss ").last ?? "" }
        #expect(loss(noisy) != loss(plain), "\(plain) \(noisy)")
        #expect(hardwareLine(try evaluate("n.yaml", "behavioral")) == hardwareLine(noisy))
        let spice = try evaluate("n.yaml", "spice"), quietSpice = try evaluate("q.yaml", "spice")
        #expect(hardwareLine(spice).contains("(in every read)") && !hardwareLine(quietSpice).contains("(in every read)"), "\(spice)")
        // ngspice without the flag reads the behavioral DC point; with it, its own draws.
        let figures = [plain, quietSpice, spice].compactMap { Double(loss($0)) }
        #expect(figures.count == 3 && abs(figures[1] - figures[0]) < 1e-3 * figures[0] && abs(figures[2] - figures[1]) > 1e-3 * figures[0], "\(figures)")
        #expect(hardwareLine(try evaluate("n.yaml", "spice")) == hardwareLine(spice))
    }
}
