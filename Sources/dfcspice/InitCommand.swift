import ArgumentParser
import DFC
import Foundation
import Training

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an initialized model (.npz) from a config.",
        discussion: """
        W_i are drawn Xavier-normal, b_i = 0, Q_i by network.feedbackInit (xavier-normal, \
        or weight-product Q_i = W_{i+1}ᵀ⋯W_Lᵀ for the -fixed variants), and FA's B_i \
        Xavier-normal. The seed (config `seed`, or --seed) is stored in the file.

        Example:
          dfcspice init --config Examples/student-teacher.yaml --out model.npz
        """
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Where to write the model.", valueName: "model.npz")) var out: String
    @Option(help: "Seed for the initial weights (overrides the config's seed).") var seed: UInt64?

    func run() throws {
        let configuration = try options.load()
        try checkOutputPath(out, distinctFrom: [options.config])
        let seed = self.seed ?? configuration.seed
        let network = try Network.initialized(configuration, seed: seed)
        try ModelFile.write(network, seed: seed, to: out)
        print("wrote \(out): sizes \(network.sizes.map(String.init).joined(separator: "-")), seed \(seed)")
    }
}
