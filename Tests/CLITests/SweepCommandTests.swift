import Foundation
import Testing

/// A trained 4-3-2 student–teacher net (a few ideal epochs) and its config with 6-bit devices.
struct TrainedNet {
    let w: Workspace

    init() throws {
        w = try Workspace()
        try """
        name: st
        seed: 7
        network: {sizes: [4, 3, 2], hiddenActivation: tanh, outputActivation: linear, loss: mse, feedbackInit: weight-product}
        dfc: {kp: 1.5, alpha: 0.0015, lambda: 0.05, tauV: 0.2, tauU: 1.0, dt: 0.01, steps: 300}
        training: {optimizer: sgd, learningRate: 0.5, batchSize: 16, epochs: 2, trainSamples: 128, testSamples: 96}
        circuit:
          device: {bits: 6, programmingNoise: 0.02}

        """.write(to: w.url("st.yaml"), atomically: true, encoding: .utf8)
        try w.expectSuccess(["train", "--config", w.path("st.yaml"), "--out", w.path("run")])
    }

    var model: String { w.path("run/model.npz") }

    func sweep(_ name: String, seeds: Int, noise: [Double]) throws -> String {
        try """
        name: \(name)
        base: st.yaml
        command: evaluate
        options: {model: run/model.npz, data: student-teacher, backend: behavioral}
        vary:
          circuit.device.programmingNoise: [\(noise.map { "\($0)" }.joined(separator: ", "))]
        replicates:
          circuit.deviceSeed: {draws: \(seeds), seed: 11}

        """.write(to: w.url("\(name).yaml"), atomically: true, encoding: .utf8)
        return w.path("\(name).yaml")
    }

    func evaluation(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

@Suite("evaluate, sharded", .serialized)
struct EvaluateShardTests {
    @Test("shards merged equal the whole evaluation bit for bit, on the behavioral and the SPICE backend")
    func shardsMerge() throws {
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        for backend in ["behavioral", "spice"] {
            let common = ["evaluate", "--config", w.path("st.yaml"), "--model", t.model, "--data", "student-teacher", "--backend", backend]
            let whole = try w.expectSuccess(common + ["--out", w.path("\(backend).json")])
            #expect(whole.stdout.contains("device seed 7"), "\(whole.stdout)")
            var parts: [String] = []
            for i in 0..<4 {
                let r = try w.expectSuccess(common + ["--shard", "\(i)/4", "--out", w.path("\(backend)-\(i).json")])
                #expect(r.stdout.contains("[shard \(i)/4"), "\(r.stdout)")
                parts.append(w.path("\(backend)-\(i).json"))
            }
            // Merged in any order.
            let merged = try w.expectSuccess(["evaluate", "--merge"] + parts.reversed() + ["--out", w.path("\(backend)-merged.json")])
            let a = try t.evaluation(w.path("\(backend).json")), b = try t.evaluation(w.path("\(backend)-merged.json"))
            let ea = try #require(a["evaluation"] as? [String: Any]), eb = try #require(b["evaluation"] as? [String: Any])
            #expect(NSDictionary(dictionary: ea).isEqual(to: eb), "\(backend): merged shards differ from the whole")
            #expect((ea["losses"] as? [Double])?.count == 96)
            #expect(whole.stdout.split(separator: "\n")[1] == merged.stdout.split(separator: "\n")[1])
        }
        // The circuit's operating point and the realised weights' forward pass agree (ideal op-amps, trimmed).
        let spice = try #require(try t.evaluation(w.path("spice.json"))["evaluation"] as? [String: Any])
        let behavioral = try #require(try t.evaluation(w.path("behavioral.json"))["evaluation"] as? [String: Any])
        let ls = try #require(spice["losses"] as? [Double]), lb = try #require(behavioral["losses"] as? [Double])
        #expect(zip(ls, lb).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "circuit and behavioral losses differ")
    }

    @Test("bad shards and merges end in one error line, writing nothing")
    func refused() throws {
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        let common = ["evaluate", "--config", w.path("st.yaml"), "--model", t.model, "--data", "student-teacher"]
        for extra in [["--shard", "4/4"], ["--shard", "1-4"], ["--shard", "0/2", "--programmings", "2"], ["--shards", "0", "--out", w.path("x.json")]] {
            let r = try CLI.run(common + extra)
            #expect(r.status != 0 && r.stderr.hasPrefix("error:") && r.stderr.split(separator: "\n").count == 1, "\(extra): \(r.stderr)")
        }
        try w.expectSuccess(common + ["--shard", "0/3", "--out", w.path("s0.json")])
        try w.expectSuccess(common + ["--shard", "2/3", "--out", w.path("s2.json")])
        let gap = try CLI.run(["evaluate", "--merge", w.path("s0.json"), w.path("s2.json"), "--out", w.path("m.json")])
        #expect(gap.status != 0 && gap.stderr.contains("in no slice"), "\(gap.stderr)")
        let twice = try CLI.run(["evaluate", "--merge", w.path("s0.json"), w.path("s0.json"), "--out", w.path("m.json")])
        #expect(twice.status != 0 && twice.stderr.contains("two slices"), "\(twice.stderr)")
        #expect(!w.exists("m.json") && !w.exists("x.json"))
    }
}

@Suite("sweep, on this machine", .serialized)
struct SweepLocalTests {
    @Test("plan, run, status and collect a Monte Carlo sweep; a second run runs nothing")
    func local() throws {
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        let file = try t.sweep("mc", seeds: 4, noise: [0, 0.05])
        let plan = try w.expectSuccess(["sweep", "plan", file, "--out", w.path("L")])
        #expect(plan.stdout.contains("planned 8 points"), "\(plan.stdout)")
        let run = try w.expectSuccess(["sweep", "run", w.path("L"), "--workers", "2"])
        #expect(run.stdout.contains("8 done, 0 running, 0 pending, 0 failed"), "\(run.stdout)")
        let again = try w.expectSuccess(["sweep", "run", w.path("L")])
        #expect(again.stdout.hasPrefix("nothing to run"), "\(again.stdout)")
        let status = try w.expectSuccess(["sweep", "status", w.path("L")])
        #expect(status.stdout.contains("8 done"))
        let collect = try w.expectSuccess(["sweep", "collect", w.path("L")])
        #expect(collect.stdout.contains("| 0.05 | 4 |"), "\(collect.stdout)")
        let csv = try String(contentsOf: w.url("L/collect/points.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 9 && csv.hasPrefix("index,circuit.device.programmingNoise,circuit.deviceSeed,"))
        #expect(w.exists("L/collect/errorRate-vs-circuit-device-programmingNoise.svg") || w.exists("L/collect/meanLoss-vs-circuit-device-programmingNoise.svg"))
        // `table --deployed` shows the sweep as the deployed half of a hardware table.
        let table = try w.expectSuccess(["table", "--deployed", w.path("L")])
        let rows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("| 0") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.hasSuffix("| 4 |") && $0.contains(" ± ") }, "\(table.stdout)")
        let notSweep = try CLI.run(["table", "--deployed", w.path("run")])
        #expect(notSweep.status != 0 && notSweep.stderr.hasPrefix("error: ") && notSweep.stdout.isEmpty, "\(notSweep.stderr)")
        // Each point's evaluation names its own device seed.
        let e = try t.evaluation(w.path("L/points/00001/out/evaluation.json"))
        let values = try String(contentsOf: w.url("L/points/00001/config.yaml"), encoding: .utf8)
        #expect(values.contains("deviceSeed: \(e["deviceSeed"] as? Int ?? -1)"), "\(values)")
    }

    @Test("a train sweep stopped by SIGTERM resumes its runs from their checkpoints, to the run it would have been")
    func trainResumes() throws {
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        try """
        name: lr
        base: st.yaml
        command: train
        options: {backend: ideal}
        vary:
          training.learningRate: [0.2, 0.5]
          training.epochs: [100]

        """.write(to: w.url("lr.yaml"), atomically: true, encoding: .utf8)
        try w.expectSuccess(["sweep", "plan", w.path("lr.yaml"), "--out", w.path("T")])
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["sweep", "run", w.path("T"), "--workers", "2"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let stopped = try w.expectSuccess(["sweep", "status", w.path("T")])
        let interrupted = stopped.stdout.contains("interrupted")
        try w.expectSuccess(["sweep", "run", w.path("T")])
        // Point 1 straight through, in a run of its own.
        try w.expectSuccess(["train", "--config", w.path("T/points/00001/config.yaml"), "--out", w.path("straight")])
        let resumed = try String(contentsOf: w.url("T/points/00001/out/run/metrics.jsonl"), encoding: .utf8)
        let straight = try String(contentsOf: w.url("straight/metrics.jsonl"), encoding: .utf8)
        func losses(_ text: String) -> [String] {
            text.split(separator: "\n").map { line in
                line.split(separator: ",").filter { $0.contains("\"testLoss\"") || $0.contains("\"trainLoss\"") }.joined(separator: ",")
            }
        }
        #expect(losses(resumed) == losses(straight) && losses(straight).count == 101, "\(losses(resumed).suffix(2)) vs \(losses(straight).suffix(2))")
        // 100 epochs take several seconds: the signal came in the middle.
        #expect(interrupted, "\(stopped.stdout)")
        let log = try String(contentsOf: w.url("T/points/00001/log.txt"), encoding: .utf8)
        #expect(log.contains("--resume"), "\(log)")
    }

    @Test("a bad sweep file or a point that cannot run: one error line, no directory")
    func refused() throws {
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        let cases = [
            "base: st.yaml\ncommand: evaluate\noptions: {model: run/model.npz}\nvary: {circuit.device.noize: [1]}\n",
            "base: st.yaml\ncommand: evaluate\noptions: {model: run/model.npz}\nvary: {circuit.device.programmingNoise: []}\n",
            "base: st.yaml\ncommand: evaluate\noptions: {model: run/model.npz}\nvary: {circuit.device.programmingNoise: [0.1, -0.1]}\n",
            "base: st.yaml\ncommand: evaluate\noptions: {model: run/model.npz, backend: quantum}\nvary: {dfc.kp: [1]}\n",
            "base: st.yaml\ncommand: evaluate\noptions: {model: run/model.npz}\nvary: {--shard: ['5/4']}\n",
            "base: nowhere.yaml\ncommand: evaluate\nvary: {dfc.kp: [1]}\n",
        ]
        for text in cases {
            try text.write(to: w.url("bad.yaml"), atomically: true, encoding: .utf8)
            let r = try CLI.run(["sweep", "plan", w.path("bad.yaml"), "--out", w.path("B")])
            #expect(r.status != 0 && r.stderr.hasPrefix("error:") && r.stderr.split(separator: "\n").count == 1, "\(text): \(r.stderr)")
            #expect(!w.exists("B"), "\(text)")
        }
        let none = try CLI.run(["sweep", "run", w.path("nothing")])
        #expect(none.status != 0 && none.stderr.hasPrefix("error:") && none.stderr.contains("not a planned sweep"), "\(none.stderr)")
    }
}

/// A one-node Slurm cluster for the suite (scripts/slurm-test-cluster.sh), when this machine can run one.
struct TestCluster {
    static var available: Bool {
        getuid() == 0 && ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    let dir: URL
    let environment: [String: String]

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-slurm-\(UUID().uuidString.prefix(8))")
        let (status, output) = Self.script("start", dir.path)
        guard status == 0, let line = output.split(separator: "\n").first(where: { $0.hasPrefix("export SLURM_CONF=") }) else {
            throw ClusterError(message: "the test cluster did not start: \(output)")
        }
        var env = ProcessInfo.processInfo.environment
        env["SLURM_CONF"] = String(line.dropFirst("export SLURM_CONF=".count))
        environment = env
    }

    func stop() {
        _ = Self.script("stop", dir.path)
        try? FileManager.default.removeItem(at: dir)
    }

    /// scripts/slurm-test-cluster.sh with its output in a file, waited for with waitpid:
    /// Foundation's Process did not notice the script's exit once it had started daemons (seen
    /// with Swift 6.3 on Linux: waitUntilExit hung beside a zombie).
    static func script(_ command: String, _ dir: String) -> (Int32, String) {
        let script = CLI.repository.appendingPathComponent("scripts/slurm-test-cluster.sh").path
        let log = dir + ".log"
        let args = ["/bin/bash", "-c", "exec /bin/bash \"$0\" \"$1\" \"$2\" >\"$3\" 2>&1", script, command, dir, log]
        var argv = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ) == 0 else { return (-1, "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        return ((status >> 8) & 0xff, output)
    }

    func run(_ args: [String]) throws -> CLI.Result { try CLI.run(CLI.binary, args, environment: environment) }

    struct ClusterError: Error { var message: String }
}

@Suite("sweep on a Slurm cluster", .serialized, .enabled(if: TestCluster.available, "needs root and Debian's slurm-wlm and munge (make deps)"))
struct SweepSlurmTests {
    @Test("32 device seeds × 4 noise levels: the cluster's collected tables equal the local ones; a failed task is resubmitted alone; sharded SPICE evaluation equals the local one")
    func cluster() throws {
        let cluster = try TestCluster()
        defer { cluster.stop() }
        let t = try TrainedNet()
        defer { t.w.remove() }
        let w = t.w
        let file = try t.sweep("mc", seeds: 32, noise: [0, 0.02, 0.05, 0.1])
        try w.expectSuccess(["sweep", "plan", file, "--out", w.path("L")])
        try w.expectSuccess(["sweep", "plan", file, "--out", w.path("S")])
        try w.expectSuccess(["sweep", "run", w.path("L"), "--workers", "2"])
        // 128 points as 8 array tasks of 16, at most 4 at once.
        let dry = try cluster.run(["sweep", "run", w.path("S"), "--engine", "slurm", "--points-per-task", "16", "--max-concurrent", "4", "--dry-run"])
        #expect(dry.stdout.contains("#SBATCH --array=0-112:16%4"), "\(dry.stdout)")
        let s = try cluster.run(["sweep", "run", w.path("S"), "--engine", "slurm", "--points-per-task", "16", "--max-concurrent", "4", "--wait"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("128 points as 8 array tasks") && s.stdout.contains("128 done"), "\(s.stdout)")
        try w.expectSuccess(["sweep", "collect", w.path("L")])
        let collected = try cluster.run(["sweep", "collect", w.path("S")])
        #expect(collected.status == 0)
        for table in ["points.csv", "summary.csv", "summary.md"] {
            let a = try String(contentsOf: w.url("L/collect/\(table)"), encoding: .utf8)
            let b = try String(contentsOf: w.url("S/collect/\(table)"), encoding: .utf8)
            #expect(a == b, "\(table) differs between the local and the Slurm run")
        }
        let hosts = try String(contentsOf: w.url("S/points/00042/log.txt"), encoding: .utf8)
        #expect(hosts.contains("(Slurm "), "\(hosts)")

        // A point that fails on the cluster keeps its log, and only it is submitted again.
        try w.expectSuccess(["sweep", "plan", try t.sweep("f", seeds: 4, noise: [0, 0.02]), "--out", w.path("F")])
        let config = w.url("F/points/00005/config.yaml")
        let good = try String(contentsOf: config, encoding: .utf8)
        try good.replacingOccurrences(of: "programmingNoise: 0.02", with: "programmingNoise: -1").write(to: config, atomically: true, encoding: .utf8)
        let failing = try cluster.run(["sweep", "run", w.path("F"), "--engine", "slurm", "--wait"])
        #expect(failing.status != 0 && failing.stderr.hasPrefix("error:") && failing.stderr.contains("point 5"), "\(failing.stderr)")
        let status = try cluster.run(["sweep", "status", w.path("F")])
        #expect(status.stdout.contains("7 done") && status.stdout.contains("1 failed") && status.stdout.contains("programmingNoise"), "\(status.stdout)")
        #expect(w.exists("F/points/00005/log.txt") && w.exists("F/points/00005/failed.json"))
        try good.write(to: config, atomically: true, encoding: .utf8)
        let retry = try cluster.run(["sweep", "run", w.path("F"), "--engine", "slurm", "--wait"])
        #expect(retry.status == 0 && retry.stdout.contains("1 points as 1 array tasks (--array=5)") && retry.stdout.contains("8 done"), "\(retry.stdout) \(retry.stderr)")

        // The SPICE evaluation of the test set in 4 shards on the cluster equals the local, unsharded one.
        let common = ["evaluate", "--config", w.path("st.yaml"), "--model", t.model, "--data", "student-teacher", "--backend", "spice"]
        try w.expectSuccess(common + ["--out", w.path("whole.json")])
        let sharded = try cluster.run(common + ["--shards", "4", "--engine", "slurm", "--out", w.path("sharded.json")])
        #expect(sharded.status == 0, "\(sharded.stderr)")
        let a = try #require(try t.evaluation(w.path("whole.json"))["evaluation"] as? [String: Any])
        let b = try #require(try t.evaluation(w.path("sharded.json"))["evaluation"] as? [String: Any])
        #expect(NSDictionary(dictionary: a).isEqual(to: b), "the sharded Slurm evaluation differs from the local one")
    }
}
