import ArgumentParser
import Emulation
import Foundation
import Sweep
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a command over a grid of config values and seeds, here or as a Slurm job array.",
        discussion: """
        A sweep file names a base config, the keys to vary (lists, grids, Monte Carlo draws \
        of seeds), the command each point runs (train, evaluate, compare or solve) and its \
        options (docs/cluster.md has the format). `plan` checks every point and writes one \
        config per point; `run` runs the points that are not done, on this machine or as one \
        Slurm job array; `status` counts done, running, pending and failed points; `collect` \
        gathers every point's figures into tables and plots. Running again runs only what is \
        not done: failed points again, interrupted train points from their checkpoints.

        Example:
          dfcspice sweep plan Examples/sweeps/noise-mc.yaml --out runs/noise-mc
          dfcspice sweep run runs/noise-mc --engine local --workers 2
          dfcspice sweep run runs/noise-mc --engine slurm --partition cpu \\
              --time 10 --mem 2G --max-concurrent 64
          dfcspice sweep status runs/noise-mc
          dfcspice sweep collect runs/noise-mc
        """,
        subcommands: [SweepPlanCommand.self, SweepRunCommand.self, SweepTaskCommand.self, SweepStatusCommand.self, SweepCollectCommand.self]
    )
}

struct SweepPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Check every point of a sweep file and write the sweep directory.",
        discussion: """
        Each point's config is the base config with the point's values, checked by the same \
        reader every command uses; each point's command line is checked as the command would \
        parse it; path options must exist. Nothing is written unless every point passes.

        Example:
          dfcspice sweep plan Examples/sweeps/noise-mc.yaml --out runs/noise-mc
        """
    )

    @Argument(help: ArgumentHelp("The sweep file (YAML).", valueName: "SWEEP.yaml")) var sweep: String
    @Option(help: ArgumentHelp("New sweep directory.", valueName: "DIR")) var out: String

    func run() throws {
        let file = try SweepFile.load(path: sweep)
        let manifest = try SweepPlan.plan(file, into: URL(fileURLWithPath: out)) { command, args in
            try Self.validate(command, Array(args.dropFirst()))
        }
        let seeds = manifest.axes.filter(\.isSeed).map(\.key)
        print("planned \(manifest.points) points of dfcspice \(manifest.command.rawValue) in \(out): "
              + manifest.axes.map { "\($0.key) (\($0.values.count))" }.joined(separator: " × ")
              + (seeds.isEmpty ? "" : "; seed keys \(seeds.joined(separator: ", "))"))
    }

    /// Parses a point's command line as the command itself would, without running it.
    static func validate(_ command: SweepFile.Command, _ args: [String]) throws {
        let type: ParsableCommand.Type = switch command {
        case .train: TrainCommand.self
        case .evaluate: EvaluateCommand.self
        case .compare: CompareCommand.self
        case .solve: SolveCommand.self
        }
        do { _ = try type.parse(args) } catch {
            throw ValidationError(type.message(for: error))
        }
    }
}

struct SweepRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the points that are not done, here or on Slurm.",
        discussion: """
        --engine local runs them on this machine, --workers at a time, and waits. --engine \
        slurm submits one `sbatch --array` job whose tasks run `dfcspice sweep task` on the \
        nodes (DIR and the binary must be on a filesystem the nodes share); with --wait it \
        waits for the array to finish. Points already done, queued or running are left alone.

        Examples:
          dfcspice sweep run runs/noise-mc --engine local --workers 2
          dfcspice sweep run runs/noise-mc --engine slurm --partition cpu --time 10 \\
              --mem 2G --max-concurrent 64 --points-per-task 8 --wait
        """
    )

    enum Engine: String, ExpressibleByArgument, CaseIterable { case local, slurm }

    @Argument(help: ArgumentHelp("The sweep directory (from sweep plan).", valueName: "DIR")) var directory: String
    @Option(help: "local or slurm.") var engine: Engine = .local
    @Option(help: "Points at once on this machine (local).") var workers = 1
    @OptionGroup var slurmOptions: SlurmOptions
    @Flag(help: "Slurm: wait until every submitted point has finished.") var wait = false
    @Flag(help: "Slurm: write the batch script and print it, but do not submit.") var dryRun = false

    func run() throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        let manifest = try SweepManifest.load(directory: dir)
        guard workers >= 1 else { throw ValidationError("--workers must be ≥ 1") }
        try runSweep(dir, manifest)
    }

    func runSweep(_ dir: URL, _ manifest: SweepManifest) throws {
        let slurm = try slurmOptions.engine()
        let binary = URL(fileURLWithPath: slurm.executable)
        let view = engine == .slurm ? SlurmEngine.view(directory: dir, manifest: manifest) : SchedulerView()
        let status = SweepStatus.read(directory: dir, manifest: manifest, scheduler: view)
        let todo = status.toRun
        guard !todo.isEmpty else {
            print("nothing to run: \(status.summary)")
            return
        }
        switch engine {
        case .local:
            Interruption.shared.install()
            let total = todo.count
            let counter = Counter()
            print("running \(total) of \(manifest.points) points here, \(workers) at a time")
            let failed = try LocalEngine.run(directory: dir, indices: todo, workers: workers, executable: binary) { index, ok in
                let n = counter.increment()
                FileHandle.standardError.write(Data("\(n)/\(total) point \(index) \(ok ? "done" : "FAILED")\n".utf8))
            }
            try report(dir, manifest, failed: failed)
        case .slurm:
            let tasks = slurm.tasks(for: todo)
            if dryRun {
                print(slurm.batchScript(directory: dir, name: manifest.name, tasks: tasks), terminator: "")
                return
            }
            let job = try slurm.submit(directory: dir, manifest: manifest, points: todo)
            print("submitted Slurm job \(job): \(todo.count) points as \(tasks.count) array tasks (--array=\(slurm.arraySpec(tasks)))")
            guard wait else { return }
            let s = SlurmEngine.waitForQueue(directory: dir, manifest: manifest)
            try report(dir, manifest, failed: s.indices(.failed).filter(todo.contains))
        }
    }

    func report(_ dir: URL, _ manifest: SweepManifest, failed: [Int]) throws {
        let status = SweepStatus.read(directory: dir, manifest: manifest)
        print(status.summary)
        guard failed.isEmpty else {
            let listed = failed.prefix(5).map { "point \($0): \(status.reasons[$0] ?? "failed")" }.joined(separator: "; ")
            throw InputError(file: dir.path, "\(failed.count) point\(failed.count == 1 ? "" : "s") failed (\(listed)\(failed.count > 5 ? "; …" : "")); "
                             + "their logs are in points/<index>/log.txt; run again to retry them")
        }
    }
}

struct SweepTaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Run some points of a planned sweep (what each Slurm array task runs).",
        discussion: """
        Runs points I … I + N − 1 that have no result yet, one after the other; exits non-zero \
        if any failed (their failed.json and log.txt say why).

        Example:
          dfcspice sweep task runs/noise-mc --index 8 --points-per-task 8
        """
    )

    @Argument(help: ArgumentHelp("The sweep directory.", valueName: "DIR")) var directory: String
    @Option(help: ArgumentHelp("First point (Slurm: $SLURM_ARRAY_TASK_ID).", valueName: "I")) var index: Int
    @Option(help: ArgumentHelp("Points to run from I on.", valueName: "N")) var pointsPerTask = 1

    func run() throws {
        guard index >= 0, pointsPerTask >= 1 else { throw ValidationError("--index must be ≥ 0 and --points-per-task ≥ 1") }
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        let manifest = try SweepManifest.load(directory: dir)
        Interruption.shared.install()
        let indices = Array(index..<min(manifest.points, index + pointsPerTask))
        guard !indices.isEmpty else { throw ValidationError("the sweep has no point \(index) (points 0…\(manifest.points - 1))") }
        let failed = try SweepTask.run(directory: dir, indices: indices, executable: try currentExecutable())
        guard failed.isEmpty else {
            throw InputError(file: dir.path, "points \(failed.map(String.init).joined(separator: ", ")) failed (see points/<index>/log.txt)")
        }
    }
}

struct SweepStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Count the done, running, pending and failed points of a sweep.",
        discussion: """
        From the points' own files and, for Slurm submissions, squeue (queued and running \
        array tasks) and sacct (final states, on clusters that keep accounting).

        Example:
          dfcspice sweep status runs/noise-mc
        """
    )

    @Argument(help: ArgumentHelp("The sweep directory.", valueName: "DIR")) var directory: String

    func run() throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        let manifest = try SweepManifest.load(directory: dir)
        let status = SweepStatus.read(directory: dir, manifest: manifest, scheduler: SlurmEngine.view(directory: dir, manifest: manifest))
        print("\(manifest.name): \(manifest.points) points; \(status.summary)")
        for index in status.indices(.failed).prefix(20) {
            print("  point \(index) failed: \(status.reasons[index] ?? "?")")
        }
    }
}

struct SweepCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Gather every finished point's figures into tables and plots.",
        discussion: """
        Writes OUT/points.csv and points.json (one row per point), OUT/summary.csv and \
        summary.md (mean and standard deviation over the seed keys) and one plot per swept \
        numeric key (the main figure against it, error bars over the seeds). OUT defaults to \
        DIR/collect.

        Example:
          dfcspice sweep collect runs/noise-mc
        """
    )

    @Argument(help: ArgumentHelp("The sweep directory.", valueName: "DIR")) var directory: String
    @Option(help: ArgumentHelp("Output directory (default: DIR/collect).", valueName: "OUT")) var out: String?

    func run() throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        let collection = try SweepCollection.read(directory: dir)
        let target = out.map { URL(fileURLWithPath: $0) } ?? dir.appendingPathComponent("collect")
        let written = try collection.write(to: target)
        print(collection.summaryMarkdown, terminator: "")
        print("wrote \(written.map { target.appendingPathComponent($0).path }.joined(separator: ", "))")
    }
}

/// Slurm's job-array settings, for `sweep run` and `evaluate --engine slurm`.
struct SlurmOptions: ParsableArguments {
    @Option(help: "Slurm partition (default: the cluster's).") var partition: String?
    @Option(help: "Slurm account.") var account: String?
    @Option(help: ArgumentHelp("Slurm time limit per array task (minutes, or D-HH:MM:SS).", valueName: "T")) var time: String?
    @Option(help: ArgumentHelp("Slurm memory per array task (e.g. 2G).", valueName: "M")) var mem: String?
    @Option(help: ArgumentHelp("CPUs per array task.", valueName: "C")) var cpus = 1
    @Option(help: ArgumentHelp("At most K array tasks at once.", valueName: "K")) var maxConcurrent: Int?
    @Option(help: "Points each array task runs one after the other (for points of seconds).") var pointsPerTask = 1
    @Option(help: ArgumentHelp("The dfcspice binary on the nodes (default: this one).", valueName: "PATH")) var executable: String?

    func engine() throws -> SlurmEngine {
        guard cpus >= 1, pointsPerTask >= 1, (maxConcurrent ?? 1) >= 1 else {
            throw ValidationError("--cpus, --points-per-task and --max-concurrent must be ≥ 1")
        }
        for (name, value) in [("partition", partition), ("account", account), ("time", time), ("mem", mem)] {
            if let value, value.isEmpty || !value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_:.".contains($0)) }) {
                throw ValidationError("--\(name) '\(value)' is not a Slurm value (letters, digits, - _ : .)")
            }
        }
        var slurm = SlurmEngine(executable: try executable ?? currentExecutable().path)
        slurm.partition = partition
        slurm.account = account
        slurm.time = time
        slurm.memory = mem
        slurm.cpus = cpus
        slurm.maxConcurrent = maxConcurrent
        slurm.pointsPerTask = pointsPerTask
        return slurm
    }
}
