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
        version: "0.1.0",
        subcommands: [InitCommand.self, DataCommand.self, SolveCommand.self, NetlistCommand.self, SimulateCommand.self, CompareCommand.self, TrainCommand.self, CurvesCommand.self, TableCommand.self, EvaluateCommand.self, InversionCommand.self, InversionCircuitCommand.self, DemoCommand.self, BenchCommand.self, SpiceWorkerCommand.self]
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
        do {
            var command = try parseAsRoot()
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
        } catch {
            exit(withError: error)
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

    func load() throws -> Configuration { try ConfigurationLoader.load(path: config) }
}

/// Refuses output paths whose directory is missing before any work starts.
func checkOutputPath(_ path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw InputError(file: path, "output directory \(dir) does not exist")
    }
}
