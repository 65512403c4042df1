import Foundation
import Testing
import Training
@testable import Sweep

/// A scratch directory with the student–teacher base config.
struct Scratch {
    let dir: URL
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        name: st
        seed: 7
        network: {sizes: [4, 3, 2], hiddenActivation: tanh, outputActivation: linear}
        dfc: {kp: 1.5, alpha: 0.0015, lambda: 0.05, tauV: 0.2, tauU: 1.0, dt: 0.01, steps: 300}
        training: {testSamples: 32}
        circuit:
          device: {bits: 6}

        """.write(to: dir.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
    }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return path(name)
    }
    func remove() { try? FileManager.default.removeItem(at: dir) }
}

@Suite("Sweep files")
struct SweepFileTests {
    @Test("lists, grids, Monte Carlo draws and replicates expand to their product, the last key fastest")
    func expansion() throws {
        let s = try Scratch()
        defer { s.remove() }
        let file = try SweepFile.parse("""
            base: base.yaml
            command: evaluate
            options: {model: m.npz, data: student-teacher}
            vary:
              circuit.device.programmingNoise: [0, 0.02, 0.05]
              dfc.kp: {from: 1, to: 100, count: 3, log: true}
              --programmings: [1, 2]
            replicates:
              circuit.deviceSeed: {draws: 4, seed: 11}
            """, path: s.path("mc.yaml"))
        #expect(file.name == "mc" && file.command == .evaluate && file.base == s.path("base.yaml"))
        #expect(file.pointCount == 3 * 3 * 2 * 4)
        #expect(file.axes.map(\.isSeed) == [false, false, false, true])
        let kp = file.axes[1].values.compactMap(Double.init)
        #expect(kp.count == 3 && abs(kp[0] - 1) < 1e-12 && abs(kp[1] - 10) < 1e-9 && abs(kp[2] - 100) < 1e-9)
        #expect(file.values(of: 0) == ["0", "1.0", "1", file.axes[3].values[0]])
        #expect(file.values(of: 1)[3] == file.axes[3].values[1])
        #expect(file.values(of: 4)[2] == "2")
        #expect(file.values(of: 71) == ["0.05", file.axes[1].values[2], "2", file.axes[3].values[3]])
        // Draws come from their seed: the same file gives the same seeds, another seed others.
        let again = try SweepFile.parse("base: b.yaml\ncommand: solve\nvary: {circuit.deviceSeed: {draws: 4, seed: 11}}\n", path: s.path("x.yaml"))
        #expect(again.axes[0].values == file.axes[3].values)
        let other = try SweepFile.parse("base: b.yaml\ncommand: solve\nvary: {circuit.deviceSeed: {draws: 4, seed: 12}}\n", path: s.path("x.yaml"))
        #expect(other.axes[0].values != file.axes[3].values)
        #expect(Set(file.axes[3].values).count == 4 && file.axes[3].values.allSatisfy { (UInt64($0) ?? .max) < 1 << 48 })
        // Path options are taken from the sweep file's directory.
        #expect(file.options.first { $0.0 == "model" }?.1 == [s.path("m.npz")])
    }

    @Test("bad sweep files end in one error naming the file and key",
          arguments: [
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: [1]}\nextra: 1\n", "extra"),
            ("base: b.yaml\ncommand: fly\nvary: {a.b: [1]}\n", "command"),
            ("command: evaluate\nvary: {a.b: [1]}\n", "base"),
            ("base: b.yaml\ncommand: evaluate\n", "vary"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: []}\n", "vary.a.b"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: {from: 0, to: 1, count: 0}}\n", "vary.a.b.count"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: {from: 0, to: 1}}\n", "vary.a.b"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: {from: 0, to: 1, count: 2, log: true}}\n", "vary.a.b"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: {draws: 3}}\n", "vary.a.b.seed"),
            ("base: b.yaml\ncommand: evaluate\nvary: {'a..b': [1]}\n", "vary.a..b"),
            ("base: b.yaml\ncommand: evaluate\nvary: {--out: [x]}\n", "vary.--out"),
            ("base: b.yaml\ncommand: evaluate\noptions: {config: x}\nvary: {a.b: [1]}\n", "options.config"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a.b: [1]}\nreplicates: {a.b: [2]}\n", "replicates.a.b"),
            ("base: b.yaml\ncommand: evaluate\noptions: {shard: 0/2}\nvary: {--shard: ['0/2']}\n", "vary.--shard"),
            ("base: b.yaml\ncommand: evaluate\nvary: {a: {from: 0, to: 1, count: 1000}, b: {from: 0, to: 1, count: 1000}}\n", "vary"),
            ("name: 'a b'\nbase: b.yaml\ncommand: evaluate\nvary: {a.b: [1]}\n", "name"),
            ("base: b.yaml\ncommand: evaluate\nvary: [1, 2]\n", "vary"),
            ("{[", nil),
          ])
    func refused(text: String, field: String?) {
        do {
            _ = try SweepFile.parse(text, path: "s.yaml")
            Issue.record("accepted \(text)")
        } catch let e as InputError {
            #expect(e.file == "s.yaml" && e.field == field, "\(e)")
        } catch {
            Issue.record("\(error)")
        }
    }
}

@Suite("Sweep plans")
struct SweepPlanTests {
    static let accept: @Sendable (SweepFile.Command, [String]) throws -> Void = { _, _ in }

    @Test("a plan writes each point's config with its values, checked by the config reader")
    func plan() throws {
        let s = try Scratch()
        defer { s.remove() }
        let path = try s.write("s.yaml", """
            base: base.yaml
            command: solve
            vary:
              circuit.device.programmingNoise: [0.01, 0.02]
              circuit.wire.rowResistance: [1, 2]
              --variant: [dfc, dfc-ss]
            """)
        let dir = s.dir.appendingPathComponent("plan")
        let m = try SweepPlan.plan(try SweepFile.load(path: path), into: dir, validate: Self.accept)
        #expect(m.points == 8)
        let config = SweepManifest.pointDirectory(dir, 5).appendingPathComponent("config.yaml").path
        let e = try ConfigurationLoader.loadExperiment(path: config)
        #expect(e.circuit.device.programmingNoise == 0.02 && e.circuit.wire.rowSegment == 1 && e.circuit.device.levels == 64)
        #expect(m.arguments(index: 5, config: "c.yaml") == ["solve", "--config", "c.yaml", "--variant", "dfc-ss"])
        #expect(try SweepManifest.load(directory: dir).points == 8)
        // A plan never overwrites.
        #expect(throws: InputError.self) { try SweepPlan.plan(try SweepFile.load(path: path), into: dir, validate: Self.accept) }
    }

    @Test("a point whose config cannot run stops the plan before anything is written, naming the swept key")
    func refusedPoint() throws {
        let s = try Scratch()
        defer { s.remove() }
        for (text, field) in [("vary: {circuit.device.programmingNoise: [0.01, -1]}", "vary.circuit.device.programmingNoise"),
                              ("vary: {circuit.device.noize: [0.01]}", "vary.circuit.device.noize"),
                              ("vary: {network.sizes.x: [1]}", "vary.network.sizes.x")] {
            let path = try s.write("s.yaml", "base: base.yaml\ncommand: solve\n\(text)\n")
            let dir = s.dir.appendingPathComponent("plan")
            do {
                _ = try SweepPlan.plan(try SweepFile.load(path: path), into: dir, validate: Self.accept)
                Issue.record("planned \(text)")
            } catch let e as InputError {
                #expect(e.file == path && e.field == field, "\(e)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir.path))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.dir.path).filter { $0.contains("planning") }
            #expect(leftovers.isEmpty)
        }
        // The command's own check, and a path option that does not exist.
        let path = try s.write("s.yaml", "base: base.yaml\ncommand: solve\nvary: {--variant: [dfc, nope]}\n")
        #expect(throws: InputError.self) {
            try SweepPlan.plan(try SweepFile.load(path: path), into: s.dir.appendingPathComponent("p2")) { _, args in
                if args.contains("nope") { throw ValidationError("unknown variant nope") }
            }
        }
        let missing = try s.write("m.yaml", "base: base.yaml\ncommand: evaluate\noptions: {model: none.npz}\nvary: {dfc.kp: [1]}\n")
        do {
            _ = try SweepPlan.plan(try SweepFile.load(path: missing), into: s.dir.appendingPathComponent("p3"), validate: Self.accept)
            Issue.record("planned with a missing model")
        } catch let e as InputError {
            #expect(e.field == "options.model", "\(e)")
        }
    }
}

struct ValidationError: Error { let message: String; init(_ m: String) { message = m } }

@Suite("Sweep engines and collection")
struct SweepEngineTests {
    @Test("array tasks cover the points to run, and Slurm's array syntax says so")
    func arraySpecs() {
        var e = SlurmEngine(executable: "/bin/dfcspice")
        #expect(e.tasks(for: [0, 1, 2, 5, 7]) == [0, 1, 2, 5, 7])
        #expect(e.arraySpec([0, 1, 2, 5, 7]) == "0-2,5,7")
        e.maxConcurrent = 4
        e.pointsPerTask = 8
        #expect(e.tasks(for: [3, 9, 15, 40]) == [0, 8, 40])
        #expect(e.arraySpec([0, 8, 16, 40]) == "0-16:8,40%4")
        let script = e.batchScript(directory: URL(fileURLWithPath: "/shared/it's"), name: "mc", tasks: [0, 8])
        #expect(script.contains("#SBATCH --array=0-8:8%4") && script.contains("--points-per-task 8"))
        #expect(script.contains("'/shared/it'\\''s'"))
    }

    @Test("collect groups points over the seed keys: mean and sample standard deviation")
    func collect() throws {
        let axes = [SweepFile.Axis(key: "noise", values: ["0", "0.1"], isSeed: false),
                    SweepFile.Axis(key: "circuit.deviceSeed", values: ["1", "2", "3"], isSeed: true)]
        let m = SweepManifest(name: "t", sweepFile: "s.yaml", base: "b.yaml", command: .evaluate, options: [], axes: axes, points: 6, planned: "")
        let losses = [1.0, 2.0, 3.0, 5.0, 5.0, 8.0]
        let results = (0..<6).map { i in
            PointResult(index: i, values: m.values(of: i), metrics: ["meanLoss": losses[i], "seed": 7], seconds: 1, host: "h", finished: "")
        }
        let c = SweepCollection(manifest: m, results: results, metrics: ["meanLoss", "seed"])
        let g = c.groups
        #expect(g.count == 2 && g[0].values == ["0"] && g[0].count == 3)
        #expect(g[0].mean["meanLoss"] == 2 && g[0].std["meanLoss"] == 1)
        #expect(g[1].mean["meanLoss"] == 6 && abs((g[1].std["meanLoss"] ?? 0) - 3.0.squareRoot()) < 1e-12)
        #expect(c.pointsCSV.split(separator: "\n").count == 7)
        #expect(c.pointsCSV.hasPrefix("index,noise,circuit.deviceSeed,meanLoss,seed\n0,0,1,1.0,7.0\n"))
        #expect(!c.summaryCSV.contains("seed mean"))
        let plots = c.plots()
        #expect(plots.count == 1 && plots[0].name == "meanLoss-vs-noise.svg" && plots[0].svg.contains("<circle"))
    }
}

@Suite("Shipped sweep files")
struct ExampleSweepTests {
    @Test("every sweep in Examples/sweeps parses and names a base config that loads")
    func examples() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/sweeps")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        var sweeps = 0
        for name in files {
            let path = dir.appendingPathComponent(name).path
            guard try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").contains(where: { $0.hasPrefix("command:") }) else { continue }
            let sweep = try SweepFile.load(path: path)
            _ = try ConfigurationLoader.loadExperiment(path: sweep.base)
            // One point is a legitimate sweep: one row of the hardware table, which resumes and
            // runs on Slurm like any other. None would be a typo.
            #expect(sweep.pointCount >= 1, "\(name)")
            sweeps += 1
        }
        #expect(sweeps >= 2, "\(files)")
    }
}

