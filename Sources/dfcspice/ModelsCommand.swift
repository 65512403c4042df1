import ArgumentParser
import Circuit
import Foundation
import NumPyFormat
import Training

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Write the circuit model families as .lib files for your own netlists.",
        discussion: """
        One file per family: the op-amps (single pole, datasheet macromodel, two-stage \
        CMOS) and the transistor activations (BJT and MOS differential pairs), each with \
        its ports, parameters, and where the numbers come from in comments. DFCSpice's \
        own netlists carry the same definitions inline; these are to .include elsewhere.

        Example:
          dfcspice models --out netlists/models
        """
    )

    @Option(help: ArgumentHelp("Directory to write into (created if missing).", valueName: "dir")) var out: String

    func run() throws {
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError(file: out, "cannot create the output directory: \(error.localizedDescription)")
        }
        let files = ModelLibrary.files()
        for f in files { try AtomicFile.write(f.text, to: dir.appendingPathComponent(f.name)) }
        print("wrote \(files.map(\.name).joined(separator: ", ")) in \(dir.path)")
    }
}
