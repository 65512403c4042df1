import Foundation
import ArgumentParser
import Spice
import Training

/// The worker process of `SpiceWorkerPool`: not for people, so hidden from help.
struct SpiceWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spice-worker",
        abstract: "Serve simulation requests on stdin/stdout with embedded ngspice (used by the worker pool).",
        shouldDisplay: false
    )

    func run() throws {
        try SpiceWorker.serve()
    }
}

/// The path of the running dfcspice binary, to start workers from.
///
/// `/proc/self/exe` names the binary the kernel loaded, wherever it was found: argv[0] is
/// only what the shell was given (`dfcspice` from PATH, resolved against the current
/// directory, names a file that does not exist there).
func currentExecutable() throws -> URL {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
       FileManager.default.isExecutableFile(atPath: path) {
        return URL(fileURLWithPath: path)
    }
    throw InputError(file: "/proc/self/exe", "cannot find the running dfcspice binary to start SPICE workers from; run with --workers 1")
}
