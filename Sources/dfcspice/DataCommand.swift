import ArgumentParser
import DFC
import Foundation
import LinearAlgebra
import NumPyFormat
import Training

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract: "Write a student–teacher dataset: random inputs labelled by a random teacher network.",
        discussion: """
        The teacher has the config's layer sizes and activations; inputs are N(0, 1).
        Example:
          dfcspice teacher --config Examples/student-teacher.yaml --samples 128 \\
              --inputs-out X.npy --labels-out Y.npy

        Before 0.2 the outputs were named --input and --labels, which every other command
        uses for what it reads; those names still work for one release.
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: "Number of samples.") var samples = 128
    @Option(help: ArgumentHelp("Where to write the inputs.", valueName: "X.npy")) var inputsOut: String?
    @Option(help: ArgumentHelp("Where to write the labels.", valueName: "Y.npy")) var labelsOut: String?
    // The names before 0.2 (outputs named like other commands' inputs), kept for one release.
    @Option(help: .hidden) var input: String?
    @Option(help: .hidden) var labels: String?

    mutating func validate() throws {
        func merged(_ new: String?, _ old: String?, _ name: String, _ oldName: String) throws -> String {
            switch (new, old) {
            case let (n?, o?) where n != o: throw ValidationError("--\(name) and its old name --\(oldName) name different files")
            case let (n?, _): return n
            case let (nil, o?): return o
            case (nil, nil): throw ValidationError("Missing expected argument '--\(name) <file>'")
            }
        }
        inputsOut = try merged(inputsOut, input, "inputs-out", "input")
        labelsOut = try merged(labelsOut, labels, "labels-out", "labels")
    }
    @Option(help: "Seed of the teacher (default: the config's seed).") var teacherSeed: UInt64?
    @Option(help: "Seed of the inputs.") var seed: UInt64 = 1

    func run() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        guard let input = inputsOut, let labels = labelsOut else { throw ValidationError("--inputs-out and --labels-out are required") }
        let configuration = try options.load()
        try checkOutputPath(input, distinctFrom: [options.config, labels])
        try checkOutputPath(labels, distinctFrom: [options.config])
        do {
            try MemoryBudget.require(MemoryBudget.product([samples, configuration.sizes[0] + configuration.sizes[configuration.sizes.count - 1]], scale: 16),
                                     for: "\(samples) samples")
        } catch let e as LinearAlgebraError {
            throw ValidationError("--samples: \(e.description)")
        }
        let task = try StudentTeacher(configuration: configuration, seed: teacherSeed ?? configuration.seed)
        let (x, y) = task.samples(samples, seed: seed)
        try NDArray(x).writeNPY(to: URL(fileURLWithPath: input))
        try NDArray(y).writeNPY(to: URL(fileURLWithPath: labels))
        print("wrote \(input) (\(x.rows)×\(x.columns)) and \(labels) (\(y.rows)×\(y.columns)); teacher seed \(teacherSeed ?? configuration.seed), input seed \(seed)")
    }
}
