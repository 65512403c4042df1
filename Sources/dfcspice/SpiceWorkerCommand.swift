import Foundation
import ArgumentParser
import Spice

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
func currentExecutable() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
}
