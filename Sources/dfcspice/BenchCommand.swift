import ArgumentParser
import DFC
import Foundation
import LinearAlgebra

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the ideal solver on the Fashion-MNIST shape and compare with the dgemm peak.",
        discussion: """
        Measures, in one process: the dgemm peak of this machine (best of several
        n×n products), the time per controlled batch of `dfc` (Euler steps as given),
        the time per batch of `dfc-ssa`, and the GFLOP/s the `dfc` inner loop achieves
        counting its matrix products (basal W_i r_{i−1}, apical Q_i u, plasticity dᵀ r).
        """
    )

    @Option(help: "Layer sizes n_0,…,n_L.") var sizes = "784,256,256,256,10"
    @Option(help: "Samples per batch.") var batch = 128
    @Option(help: "Euler steps per controlled batch (the published dfc uses 300).") var steps = 300
    @Option(help: "OpenBLAS threads (default: the library's default, usually one per core).") var threads: Int?
    @Option(help: "Timed repetitions (best is reported).") var repeats = 3
    @Option(help: "Seed for weights and inputs.") var seed: UInt64 = 1

    func run() throws {
        let sizes = self.sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else { throw ValidationError("--sizes needs at least two positive integers") }
        guard batch > 0, steps > 0, repeats > 0 else { throw ValidationError("--batch, --steps and --repeats must be positive") }
        if let threads { BLASThreads.set(threads) }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, OpenBLAS threads \(BLASThreads.count)")

        let peak = dgemmPeak()
        print(String(format: "dgemm peak: %.1f GFLOP/s (best n×n product, n = %d)", peak.gflops, peak.n))

        var configuration = Configuration()
        configuration.sizes = sizes
        configuration.activations = Array(repeating: .tanh, count: sizes.count - 2) + [.linear]
        configuration.loss = .crossEntropy
        configuration.control.kp = 2
        configuration.control.alpha = 0.0002061
        configuration.control.lambda = 0.05607
        configuration.control.tauV = 0.2
        configuration.control.dt = 0.02
        configuration.control.steps = steps
        configuration.control.traceStride = 0
        configuration.conventions = .publishedCode
        configuration.seed = seed
        let network = try Network.initialized(configuration, seed: seed)
        let solver = try Solver(network: network, configuration: configuration)
        var g = SeededGenerator(seed: seed &+ 1)
        let x = Matrix(rows: batch, columns: sizes[0]) { _, _ in g.nextOpenUnit() }
        var y = Matrix(rows: batch, columns: sizes.last!)
        for s in 0..<batch { y[s, s % sizes.last!] = 1 }

        func best(_ body: () throws -> Void) rethrows -> Double {
            var t = Double.infinity
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return t
        }
        var noise = SeededGenerator(seed: seed)
        let dfcTime = try best { _ = try solver.solve(input: x, labels: y, variant: .dfc, generator: &noise) }
        let flops = Double(steps + 1) * innerLoopFlops(sizes: sizes, batch: batch)
        let gflops = flops / dfcTime / 1e9
        print(String(format: "dfc:     %.3f s per batch (%d samples, %d Euler steps), inner-loop products %.1f GFLOP/s = %.0f %% of peak",
                     dfcTime, batch, steps, gflops, 100 * gflops / peak.gflops))
        let ssaTime = try best { _ = try solver.solve(input: x, labels: y, variant: .dfcSSA, generator: &noise) }
        print(String(format: "dfc-ssa: %.4f s per batch", ssaTime))
        let bpTime = try best { _ = try solver.solve(input: x, labels: y, variant: .bp, generator: &noise) }
        print(String(format: "bp:      %.4f s per batch", bpTime))
        print(String(format: "per epoch of 55 000 samples: dfc %.0f s, dfc-ssa %.1f s, bp %.2f s (forward weights only)",
                     dfcTime * 55_000 / Double(batch), ssaTime * 55_000 / Double(batch), bpTime * 55_000 / Double(batch)))
    }

    /// Matrix-product flops of one state of the `dfc` loop: basal gemms of layers
    /// 2…L, apical gemms of all layers, plasticity gemms of layers 2…L (layer 1's
    /// presynaptic input is constant and its product is taken once per batch).
    func innerLoopFlops(sizes: [Int], batch: Int) -> Double {
        let b = Double(batch), nL = Double(sizes.last!)
        var f = 0.0
        for i in 1..<sizes.count {
            let n = Double(sizes[i]), m = Double(sizes[i - 1])
            if i > 1 { f += 2 * 2 * b * n * m }
            f += 2 * b * n * nL
        }
        return f
    }

    func dgemmPeak() -> (gflops: Double, n: Int) {
        var bestRate = 0.0, bestN = 0
        for n in [256, 512, 1024, 2048] {
            var g = SeededGenerator(seed: 7)
            let a = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
            let b = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
            var c = Matrix(rows: n, columns: n)
            let reps = max(1, 2_000_000_000 / (2 * n * n * n))
            Matrix.gemm(a, .none, b, .none, into: &c)
            for _ in 0..<3 {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<reps { Matrix.gemm(a, .none, b, .none, into: &c) }
                let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let rate = Double(reps) * 2 * Double(n * n * n) / t / 1e9
                if rate > bestRate { bestRate = rate; bestN = n }
            }
        }
        return (bestRate, bestN)
    }
}
