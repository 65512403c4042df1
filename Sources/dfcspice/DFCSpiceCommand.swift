import ArgumentParser
import CMalloc
import Circuit
import DFC
import Spice
import Foundation
import LinearAlgebra
import Logging
import NumPyFormat
import Training

@main
struct DFCSpiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfcspice",
        abstract: "Deep Feedback Control: ideal solver, circuits and hardware-in-the-loop learning.",
        discussion: """
        Start with `dfcspice init` to make a model from a config, then `dfcspice solve` \
        to run a variant (dfc, dfc-ss, dfc-ssa, the -fixed forms, bp, dfa, fa, ddtp-linear) on a batch. \
        Configs are YAML or JSON (see docs/config.md); models are .npz files NumPy can read.
        """,
        version: "0.2.0",
        subcommands: [InitCommand.self, DataCommand.self, SolveCommand.self, NetlistCommand.self, SimulateCommand.self, CompareCommand.self, TrainCommand.self, CurvesCommand.self, TableCommand.self, EvaluateCommand.self, SweepCommand.self, InversionCommand.self, InversionCircuitCommand.self, ModelsCommand.self, DemoCommand.self, BenchCommand.self, SpiceWorkerCommand.self]
    )

    /// Runs the command; every failure a user can cause ends as one `error:` line and exit 1.
    static func main() {
        // First, before any thread exists: OpenBLAS's generic kernels on CPUs it does not
        // recognise are ~6× slower than the vector ones (see `BLASCore`).
        BLASCore.reexecWithRecommendedCoreIfNeeded()
        // Keep large blocks (batches, weight matrices) on the heap instead of mapping and
        // zeroing fresh pages for each: training allocates the same sizes every batch
        // (measured: 1 epoch of bp on Fashion-MNIST 10 s → 6.4 s).
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
        // Line-buffered stdout: progress lines and a final `error:` (stderr) stay in order in a log file.
        dfc_line_buffered_stdout()
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = ProcessInfo.processInfo.environment["DFCSPICE_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return h
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandLineCheck.unknownHelpTopic(arguments) { fail(problem + " (see dfcspice --help)") }
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch {
            // Help and version exit 0 with ArgumentParser's text; a command line it refuses is one line.
            guard exitCode(for: error) != .success else { exit(withError: error) }
            // An unknown option explains a missing one (a misspelt `--config`): name it first.
            if let unknown = CommandLineCheck.unknownOption(arguments) { fail(unknown + " (see --help)") }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message + " (see --help)")
        }
        do {
            try command.run()
        } catch let e as InputError {
            fail(e.description)
        } catch let e as ModelError {
            fail(e.message)
        } catch let e as NumPyFormatError {
            fail(e.message)
        } catch let e as LinearAlgebraError {
            fail(e.description)
        } catch let e as InvalidElementError {
            fail(e.description)
        } catch let e as UnsafeFragmentError {
            fail(e.description)
        } catch let e as SimulationError {
            fail(e.description)
        } catch let e as ExitCode {
            exit(withError: e)
        } catch let e as ValidationError {
            fail(e.message)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // `help` and `--help` arrive here as ArgumentParser's own (internal) error type.
            exit(withError: error)
        } catch {
            // Whatever else a command lets through (a Foundation file error, say) is still
            // one `error:` line, not ArgumentParser's "Error: Error Domain=…" dump.
            fail(error.localizedDescription)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// Options every command that reads a config shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Experiment config (YAML or JSON).", valueName: "file"))
    var config: String
    @Option(help: ArgumentHelp("Memory this command may plan to use (e.g. 64G); default: what the machine has available.", valueName: "bytes"))
    var maxMemory: String?

    func load() throws -> Configuration { try loadExperiment().model }

    func loadExperiment() throws -> Experiment {
        try applyMaxMemory(maxMemory)
        return try ConfigurationLoader.loadExperiment(path: config)
    }
}

/// Replaces the measured memory budget (`MemoryBudget`) for this process: sizes are then
/// checked against `value` (bytes, or with a K/M/G/T suffix) instead of what is available.
func applyMaxMemory(_ value: String?) throws {
    guard let value else { return }
    guard MemoryBudget.parseBytes(value) != nil else {
        throw ValidationError("--max-memory: '\(value)' is not a size (bytes, or a number with K, M, G or T)")
    }
    setenv(MemoryBudget.overrideVariable, value, 1)
}

/// Refuses, before any work starts, an output path that could not or must not be written:
/// its directory is missing; it exists and is not a regular file (a device such as
/// /dev/full, a directory, a FIFO: the atomic rename would replace the node itself); or it
/// is one of the command's `inputs` (the result would destroy what it was computed from).
func checkOutputPath(_ path: String, distinctFrom inputs: [String?] = []) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw InputError(file: path, "output directory \(dir) does not exist")
    }
    if let reason = AtomicFile.unwritableReason(URL(fileURLWithPath: path)) { throw InputError(file: path, reason) }
    let target = canonicalPath(path)
    for case let input? in inputs where canonicalPath(input) == target {
        throw InputError(file: path, "is also an input of this command; write the output elsewhere")
    }
}

/// `path` made absolute, with `.`, `..` and symbolic links resolved: two spellings of one file compare equal.
func canonicalPath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
}
