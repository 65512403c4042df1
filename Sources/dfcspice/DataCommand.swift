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
              --input X.npy --labels Y.npy
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: "Number of samples.") var samples = 128
    @Option(help: ArgumentHelp("Where to write the inputs.", valueName: "X.npy")) var input: String
    @Option(help: ArgumentHelp("Where to write the labels.", valueName: "Y.npy")) var labels: String
    @Option(help: "Seed of the teacher (default: the config's seed).") var teacherSeed: UInt64?
    @Option(help: "Seed of the inputs.") var seed: UInt64 = 1

    func run() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
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
