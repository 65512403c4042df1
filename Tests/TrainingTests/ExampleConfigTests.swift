import Foundation
import Testing
@testable import Training

/// Every config the repository ships is one a user may run first: it must load.
@Suite("Shipped example configs")
struct ExampleConfigTests {
    static var examples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples")
    }

    /// Every example YAML but the sweep files (Examples/sweeps, checked by SweepTests), which
    /// name a base config and a command instead of being one.
    static var configs: [String] {
        let files = FileManager.default.enumerator(atPath: examples.path)?.compactMap { $0 as? String } ?? []
        return files.filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !isSweep($0) }.sorted()
    }

    static func isSweep(_ relative: String) -> Bool {
        let text = (try? String(contentsOf: examples.appendingPathComponent(relative), encoding: .utf8)) ?? ""
        return relative.hasPrefix("sweeps/") && text.split(separator: "\n").contains { $0.hasPrefix("command:") }
    }

    /// The shipped config at `relative` (below Examples/), loaded as `dfcspice` loads it.
    static func load(_ relative: String) throws -> Experiment {
        try ConfigurationLoader.loadExperiment(path: examples.appendingPathComponent(relative).path)
    }

    @Test("there are example configs to check")
    func found() {
        #expect(Self.configs.count >= 20, "found \(Self.configs)")
    }

    @Test("every example config loads without an error", arguments: configs)
    func loads(_ relative: String) throws {
        let e = try Self.load(relative)
        #expect(!e.model.sizes.isEmpty)
    }

    @Test("the DFA row's Q optimizer is the published one")
    func ddtpFeedbackOptimizer() throws {
        let e = try Self.load("fashion-mnist/ddtp-linear.yaml")
        let q = e.training.feedbackOptimizer(rate: e.training.feedbackLearningRate)
        #expect(q.epsilon == 1e-8 && q.clipNorm == 0 && e.training.separateFeedbackOptimizers)
        #expect(e.training.optimizer(rate: nil).epsilon == 3.252e-7 && e.training.clipNorm == 1)
    }

    /// The Table 1 `dfc-ssa` row runs at the published gradient scale since 2026-12-03
    /// (docs/decisions.md); its `sum` twin differs from it in that key alone.
    @Test("the dfc-ssa row is at the published update scale, its sum twin at sum and otherwise the same")
    func dfcSSAScale() throws {
        let published = try Self.load("fashion-mnist/dfc-ssa.yaml"), sum = try Self.load("fashion-mnist/dfc-ssa-sum-scale.yaml")
        #expect(published.model.conventions.updateScale == .publishedMean)
        #expect(sum.model.conventions.updateScale == .sum)
        var twin = sum.model
        twin.conventions.updateScale = .publishedMean
        twin.name = published.model.name
        #expect(twin == published.model)
        #expect(sum.training == published.training && sum.circuit == published.circuit)
    }
}
