import ArgumentParser
import Circuit
import DFC
import Emulation
import Spice
import Training
import Foundation
import LinearAlgebra
import NumPyFormat
import Reports

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the ideal solver on the Fashion-MNIST shape and compare with the dgemm peak.",
        discussion: """
        Measures, in one process and interleaved round by round (so that a noisy \
        neighbour on a shared machine hits both alike): the dgemm peak of this machine \
        with every core (2048×2048 products), the time per controlled batch of `dfc` \
        (Euler steps as given), and the GFLOP/s its inner loop achieves counting its \
        matrix products (basal W_i r_{i−1}, apical Q_i u, plasticity dᵀ r). Reports the \
        median over rounds of each figure and of the ratio; then the per-step product of \
        one 64-sample chunk with the packed kernel the dynamics use and with OpenBLAS, on \
        every core at once; then one feedback pass, `dfc-ssa` and `bp`. Last, the \
        arithmetic floor of each epoch: its float64 matrix products at the measured dgemm \
        peak, which no implementation of the same algorithm can beat on this machine; and \
        the kernel floor, which adds the tanh evaluations and Gaussian draws of the \
        dynamics at the measured speed of our element-wise kernels.

        Example (the floors beside the published code's times and the targets, as a bar chart):
          dfcspice bench --figure epoch-seconds.svg
        """
    )

    @Option(help: "Layer sizes n_0,…,n_L.") var sizes = "784,256,256,256,10"
    @Option(help: "Samples per batch.") var batch = 128
    @Option(help: "Euler steps per controlled batch (the published dfc uses 300).") var steps = 300
    @Option(help: "Euler steps per feedback pass (the published Fashion-MNIST configs use 33).") var feedbackSteps = 33
    @Option(help: "Timed rounds (medians are reported).") var repeats = 5
    @Option(help: "Seed for weights and inputs.") var seed: UInt64 = 1
    @Flag(help: "Only time writing the netlist of the network (elements, seconds, peak memory).") var netlistOnly = false
    @Flag(help: "Only time hardware-in-the-loop samples of the student–teacher circuit (Examples/student-teacher.yaml) with 1 and 2 SPICE worker processes, and the behavioral backend.")
    var spiceOnly = false
    @Option(help: "Samples per worker count for --spice-only.") var spiceSamples = 64
    @Option(help: ArgumentHelp("""
        Config of --spice-only. Another config than the default is timed once, with 2 workers \
        and no warm-up (a realistic circuit takes minutes per sample), beside the behavioral backend.
        """, valueName: "config.yaml")) var spiceConfig = "Examples/student-teacher.yaml"
    @Option(help: ArgumentHelp("Also draw the per-epoch figures as an SVG bar chart: this run's estimates and floors beside the published code and the targets.",
                               valueName: "svg")) var figure: String?

    func run() throws {
        let sizes = self.sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else { throw ValidationError("--sizes needs at least two positive integers") }
        guard batch > 0, steps > 0, feedbackSteps > 0, repeats > 0 else {
            throw ValidationError("--batch, --steps, --feedback-steps and --repeats must be positive")
        }
        if let figure {
            // Before any timing: a bad path should not cost a minute of benchmarks first.
            guard !netlistOnly && !spiceOnly else { throw ValidationError("--figure draws the solver benchmarks: leave out --netlist-only and --spice-only") }
            try checkOutputPath(figure)
        }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, OpenBLAS threads \(BLASThreads.count), OpenBLAS core \(BLASCore.current)")
        if netlistOnly {
            try benchNetlist(sizes: sizes)
            return
        }
        if spiceOnly {
            try benchSpice()
            return
        }

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
        // The published Fashion-MNIST feedback phase (Examples/fashion-mnist/dfc.yaml).
        configuration.feedback.kp = 0.006427
        configuration.feedback.alpha = 0.2337
        configuration.feedback.tauV = 0.005473
        configuration.feedback.tauU = 1
        configuration.feedback.apicalTau = 0.1347
        configuration.feedback.dt = 0.003097
        configuration.feedback.steps = feedbackSteps
        configuration.feedback.sigma = 0.002451
        configuration.seed = seed
        let network = try Network.initialized(configuration, seed: seed)
        let solver = try Solver(network: network, configuration: configuration)
        var g = SeededGenerator(seed: seed &+ 1)
        let x = Matrix(rows: batch, columns: sizes[0]) { _, _ in g.nextOpenUnit() }
        var y = Matrix(rows: batch, columns: sizes.last!)
        for s in 0..<batch { y[s, s % sizes.last!] = 1 }

        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let median = Self.median
        var noise = SeededGenerator(seed: seed)
        let flops = Double(batch) * FlopCount.controlledRun(sizes: sizes, steps: steps)
        var peaks: [Double] = [], times: [Double] = [], ratios: [Double] = []
        _ = try solver.solve(input: x, labels: y, variant: .dfc, generator: &noise)   // warm-up
        for _ in 0..<repeats {
            let peak = dgemmRate(n: 2048)
            let t = try seconds { _ = try solver.solve(input: x, labels: y, variant: .dfc, generator: &noise) }
            peaks.append(peak)
            times.append(t)
            ratios.append(flops / t / 1e9 / peak)
        }
        let dfcTime = median(times)
        print(String(format: "dgemm peak: %.1f GFLOP/s (median of %d rounds, 2048×2048, all cores)", median(peaks), repeats))
        print(String(format: "dfc:     %.3f s per batch (%d samples, %d Euler steps), inner-loop products %.1f GFLOP/s = %.0f %% of peak (median ratio; range %.0f–%.0f %%)",
                     dfcTime, batch, steps, flops / dfcTime / 1e9, 100 * median(ratios),
                     100 * (ratios.min() ?? 0), 100 * (ratios.max() ?? 0)))
        if sizes.count > 2 {
            let (own, blas) = stepProductRates(m: Dynamics.chunkSize, n: sizes[2], k: sizes[1], rounds: repeats)
            print(String(format: "per-step product %d×%d×%d (one chunk, every core busy): packed kernel %.1f GFLOP/s per core, OpenBLAS %.1f (%.2f×)",
                         Dynamics.chunkSize, sizes[2], sizes[1], own, blas, own / blas))
        }
        let ff = network.forward(x)
        let feedbackTime = median((0..<repeats).map { _ in seconds { _ = solver.feedbackPhase(input: x, feedforward: ff, variant: .dfcSSA, generator: &noise) } })
        print(String(format: "feedback pass: %.4f s per batch (%d Euler steps, noise in the apical compartments)", feedbackTime, feedbackSteps))
        let ssaTime = median(try (0..<repeats).map { _ in try seconds { _ = try solver.solve(input: x, labels: y, variant: .dfcSSA, generator: &noise) } })
        print(String(format: "dfc-ssa: %.4f s per batch", ssaTime))
        let bpTime = median(try (0..<repeats).map { _ in try seconds { _ = try solver.solve(input: x, labels: y, variant: .bp, generator: &noise) } })
        print(String(format: "bp:      %.4f s per batch", bpTime))
        let perEpoch = 55_000 / Double(batch)
        print(String(format: "per epoch of 55 000 samples: dfc %.0f s, dfc-ssa %.1f s, bp %.2f s (forward weights only); one feedback pass %.1f s",
                     dfcTime * perEpoch, ssaTime * perEpoch, bpTime * perEpoch, feedbackTime * perEpoch))
        // What no implementation of the same float64 arithmetic can beat on this machine.
        let peak = median(peaks) * 1e9
        let pass = 55_000 * FlopCount.feedbackRun(sizes: sizes, steps: feedbackSteps)
        let forward = 55_000 * FlopCount.controlledRun(sizes: sizes, steps: steps)
        let arithmetic = (dfc: (forward + 3 * pass) / peak, ssa: (3 * pass + 55_000 * FlopCount.steadyStateUpdate(sizes: sizes)) / peak,
                          pretrain: 10 * pass / peak, bp: 55_000 * FlopCount.backpropagation(sizes: sizes) / peak)
        print(String(format: "arithmetic floor at the dgemm peak (matrix products only, 55 000 samples): dfc %.0f s per epoch "
                     + "(forward %.0f s + 3 feedback passes), dfc-ssa %.1f s (3 feedback passes + update), "
                     + "feedback pre-training %.0f s (10 passes), bp %.2f s",
                     arithmetic.dfc, forward / peak, arithmetic.ssa, arithmetic.pretrain, arithmetic.bp))
        // Add the element-wise work the products leave over, at our kernels' speed.
        let cores = Double(Parallel.workers)
        let kernels = elementRates(rounds: repeats)
        let phi = configuration.activations
        func kernelSeconds(activations: Double, draws: Double) -> Double {
            55_000 * (activations * kernels.tanh + draws * kernels.draw) * 1e-9 / cores
        }
        let passKernels = kernelSeconds(activations: ElementCount.feedbackRunActivations(sizes: sizes, activations: phi, steps: feedbackSteps),
                                        draws: ElementCount.feedbackRunDraws(sizes: sizes, steps: feedbackSteps))
        let forwardKernels = kernelSeconds(activations: ElementCount.controlledRunActivations(sizes: sizes, activations: phi, steps: steps), draws: 0)
        print(String(format: "element-wise kernels (every core busy, %d-element buffers): tanh %.2f ns, Gaussian draw with the apical Euler step %.2f ns per element per core",
                     kernels.elements, kernels.tanh, kernels.draw))
        let kernel = (dfc: arithmetic.dfc + forwardKernels + 3 * passKernels, ssa: arithmetic.ssa + 3 * passKernels,
                      pretrain: arithmetic.pretrain + 10 * passKernels)
        print(String(format: "kernel floor (products at the dgemm peak, plus tanh and the noise at these speeds, nothing else): dfc %.0f s per epoch, "
                     + "dfc-ssa %.1f s, feedback pre-training %.0f s", kernel.dfc, kernel.ssa, kernel.pretrain))
        if let figure {
            let passEpoch = feedbackTime * perEpoch
            var chart = BarChart(title: "Seconds per Fashion-MNIST epoch (\(sizes.map(String.init).joined(separator: "-")), 55 000 samples)",
                                 valueLabel: "seconds (log scale)", categories: ["bp", "dfc-ssa", "dfc", "Q pre-training"])
            chart.series = [
                BarChart.Series(label: "published code", values: Self.publishedSeconds, color: 7),
                BarChart.Series(label: "speed target", values: Self.targetSeconds, color: 3, outlined: true),
                BarChart.Series(label: "this code (bench)", values: [bpTime * perEpoch, ssaTime * perEpoch + 3 * passEpoch,
                                                                    dfcTime * perEpoch + 3 * passEpoch, 10 * passEpoch], color: 0),
                BarChart.Series(label: "kernel floor", values: [.nan, kernel.ssa, kernel.dfc, kernel.pretrain], color: 2, outlined: true),
                BarChart.Series(label: "arithmetic floor", values: [arithmetic.bp, arithmetic.ssa, arithmetic.dfc, arithmetic.pretrain], color: 5, outlined: true),
            ]
            let date = ISO8601DateFormatter().string(from: Date())
            chart.notes = [
                String(format: "%@: %d cores, dgemm peak %.1f GFLOP/s, tanh %.2f ns and a Gaussian draw %.2f ns per element and core.",
                       date, ProcessInfo.processInfo.activeProcessorCount, median(peaks), kernels.tanh, kernels.draw),
                "This code: timed batches of \(batch) (\(steps) and \(feedbackSteps) Euler steps) scaled to 55 000 samples; an epoch holds 3 feedback passes.",
                "Arithmetic floor: the epoch's float64 products at the dgemm peak. Kernel floor: plus its tanh and Gaussian draws at the speeds above.",
                "Published code: its Table 1 configs on this machine kind, float64, 2 threads (pre-training 700–870 s; the lower end is drawn).",
            ]
            do {
                try AtomicFile.write(chart.svg(), to: URL(fileURLWithPath: figure))
            } catch {
                throw InputError(file: figure, "cannot write the figure: \(error)")
            }
            print("figure: \(figure)")
        }
    }

    /// Seconds per epoch (bp, dfc-ssa, dfc) and for the 10-epoch feedback pre-training of the
    /// published PyTorch code on this machine kind, and the speed targets set for this project.
    static let publishedSeconds: [Double] = [3.1, 228, 1120, 700]
    static let targetSeconds: [Double] = [3, 30, 150, 120]

    /// Nanoseconds per element per core of the two element-wise kernels of the dynamics, on
    /// every core at once as in training, over one chunk's hidden layer (64 × 256, in cache):
    /// tanh (`VectorMath.tanh`, what `Activation.apply` runs) and the noise of the leaky apical
    /// compartment (`NormalLanes.step` with its drive, the fused Euler–Maruyama step). Medians.
    func elementRates(rounds: Int) -> (tanh: Double, draw: Double, elements: Int) {
        let count = Dynamics.chunkSize * 256
        let lock = NSLock()
        var tanhs: [Double] = [], draws: [Double] = []
        Parallel.forEach(Parallel.workers) { w in
            var g = SeededGenerator(seed: 13 &+ UInt64(w))
            let src = (0..<count).map { _ in 0.8 * g.nextNormal() }
            var dst = [Double](repeating: 0, count: count)
            var apical = [Double](repeating: 0, count: count)
            var lanes = NormalLanes(generator: g)
            let repeats = 2_000
            func nanoseconds(_ body: () -> Void) -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<repeats { body() }
                return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(repeats * count)
            }
            for _ in 0..<rounds {
                let t = nanoseconds {
                    src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { VectorMath.tanh(s, $0) } }
                }
                let d = nanoseconds {
                    src.withUnsafeBufferPointer { s in
                        apical.withUnsafeMutableBufferPointer { a in
                            _ = lanes.step(a, drive: s, gain: 0.023, scale: 0.002, bound: 1e6)
                        }
                    }
                }
                lock.withLock { tanhs.append(t); draws.append(d) }
            }
        }
        return (Self.median(tanhs), Self.median(draws), count)
    }

    /// Hardware-in-the-loop samples of the student–teacher circuit: `SpiceBackend.update`
    /// on mini-batches (per sample: feedforward operating point, host target, controlled
    /// transient, plasticity from the traces) with a pool of 1 and then 2 worker processes,
    /// which report the seconds spent inside ngspice; then the behavioral backend on the
    /// same batches, for the speed-up.
    func benchSpice() throws {
        let path = spiceConfig
        let experiment = try ConfigurationLoader.loadExperiment(path: path)
        let quick = path != "Examples/student-teacher.yaml"
        let c = experiment.model
        let network = try Network.initialized(c, seed: c.seed)
        let (x, y) = try StudentTeacher(configuration: c, seed: c.seed).samples(spiceSamples, seed: 1)
        let mapper = try DFCCircuitMapper(configuration: c, parameters: experiment.circuit)
        print("HIL samples of \(path) (\(network.sizes.map(String.init).joined(separator: "-")), \(c.control.steps) Euler steps of the ideal model; .tran step \(mapper.transientStep) s): feedforward op + controlled transient + plasticity per sample")
        // Side by side: the config's circuit, then ngspice's internal step allowed up to τ_v/2.
        var fast = experiment.circuit
        fast.maxStep = c.control.tauV / 2 * fast.timeScale
        var rates: [Double] = []
        var reference: BatchUpdate?
        let rounds = quick ? [("", experiment.circuit, [2])]
            : [("", experiment.circuit, [1, 2]), (String(format: " (maxStep τ_v/2 = %.3g s)", fast.maxStep ?? 0), fast, [2])]
        for (label, circuit, counts) in rounds {
        for workers in counts {
            let pool = try SpiceWorkerPool(workers: workers, executable: currentExecutable())
            let backend = try SpiceBackend(network: network, configuration: c, circuit: circuit, engine: pool, timeLimit: quick ? 3600 : 120, workers: workers)
            if !quick { _ = try backend.update(inputs: x.rows(0..<workers), labels: y.rows(0..<workers), variant: .dfc) }   // warm-up
            let engineBefore = pool.engineSeconds
            let start = DispatchTime.now().uptimeNanoseconds
            let u = try backend.update(inputs: x, labels: y, variant: .dfc)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let inside = pool.engineSeconds - engineBefore
            let rate = Double(spiceSamples) / wall
            rates.append(rate)
            let outside = max(0, 1 - inside / (wall * Double(workers)))
            print(String(format: "  %d worker%@: %.1f HIL samples/s (%.1f ms per sample per worker), %.0f %% of worker time outside ngspice%@%@",
                         workers, workers == 1 ? " " : "s", rate, 1000 * wall * Double(workers) / Double(spiceSamples),
                         100 * outside, u.skipped > 0 ? ", \(u.skipped) skipped" : "", label))
            if let r = reference, !label.isEmpty {
                // The batch's summed update against the config's circuit: the angle per layer.
                let angles = zip(u.dW, r.dW).map { a, b -> Double in
                    let dot = zip(a.storage, b.storage).reduce(0) { $0 + $1.0 * $1.1 }
                    let na = a.storage.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.storage.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    return acos(max(-1, min(1, dot / max(na * nb, .leastNormalMagnitude)))) * 180 / .pi
                }
                let rel = zip(u.dW, r.dW).map { a, b -> Double in
                    let d = zip(a.storage, b.storage).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                    return d / max(b.storage.reduce(0) { $0 + $1 * $1 }.squareRoot(), .leastNormalMagnitude)
                }
                print("    its batch update against the config's circuit: angles " + angles.map { String(format: "%.4f", $0) }.joined(separator: ", ")
                      + "°, relative differences " + rel.map { String(format: "%.1e", $0) }.joined(separator: ", "))
            }
            if label.isEmpty && workers == 2 { reference = u }
        }
        if rates.count == 2 { print(String(format: "  speed-up with 2 workers: %.2f×", rates[1] / rates[0])) }
        }
        if rates.count == 3 { print(String(format: "  maxStep τ_v/2 against the config's step, 2 workers: %.2f×", rates[2] / rates[1])) }
        let behavioral = try BehavioralBackend(network: network, configuration: c, circuit: experiment.circuit)
        if quick { print("  behavioral backend: \(behavioral.behavior.isStatic ? "realised weights on the ideal kernels" : "circuit dynamics (CircuitBehavior)")") }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try behavioral.update(inputs: x, labels: y, variant: .dfc)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let rate = Double(spiceSamples) / best
        print(String(format: "  behavioral backend: %.0f HIL samples/s, %.0f× the 2-worker SPICE rate", rate, rate / (rates.last ?? 1)))
    }

    /// Maps the network to a circuit and writes its netlist to a scratch file, timing
    /// mapping and writing separately; peak RSS comes from getrusage.
    func benchNetlist(sizes: [Int]) throws {
        var c = Configuration()
        c.sizes = sizes
        c.activations = Array(repeating: .tanh, count: sizes.count - 2) + [.linear]
        c.seed = seed
        let network = try Network.initialized(c, seed: seed)
        let before = peakResidentMegabytes()
        let start = DispatchTime.now().uptimeNanoseconds
        let mapped = try DFCCircuitMapper(configuration: c, parameters: CircuitParameters())
            .map(network: network, input: [Double](repeating: 0.5, count: sizes[0]), target: [Double](repeating: 0, count: sizes.last!), phase: .controlled)
        let mapping = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-bench-\(getpid()).cir").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writeStart = DispatchTime.now().uptimeNanoseconds
        try NgspiceDialect().write(mapped.circuit, toFile: path)
        let writing = Double(DispatchTime.now().uptimeNanoseconds - writeStart) / 1e9
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print(String(format: "netlist %@: %d elements, %.1f MB, mapping %.2f s + writing %.2f s = %.2f s, peak RSS %.0f MB (%.0f MB before)",
                     sizes.map(String.init).joined(separator: "-"), mapped.circuit.elementCount, Double(bytes) / 1e6,
                     mapping, writing, mapping + writing, peakResidentMegabytes(), before))
    }

    func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// The product every Euler step does per chunk, C = r·Wᵀ + b (m samples, W n × k), with W
    /// packed once (`PackedTranspose`, as `Dynamics` runs it) and with OpenBLAS's gemm plus the
    /// bias row, interleaved round by round on every core at once, as in training. Returns the
    /// median GFLOP/s per core of each.
    func stepProductRates(m: Int, n: Int, k: Int, rounds: Int) -> (own: Double, blas: Double) {
        let workers = Parallel.workers
        let lock = NSLock()
        var own: [Double] = [], blas: [Double] = []
        Parallel.forEach(workers) { w in
            var g = SeededGenerator(seed: 11 &+ UInt64(w))
            let a = Matrix.gaussian(rows: m, columns: k, std: 1, using: &g)
            let b = Matrix.gaussian(rows: n, columns: k, std: 1, using: &g)
            let bias = (0..<n).map { _ in g.nextNormal() }
            let packed = PackedTranspose(b)
            var c = Matrix(rows: m, columns: n)
            let repeats = min(20_000, max(1, Int(2e8 / Double(2 * m * n * k))))
            func rate(_ body: () -> Void) -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<repeats { body() }
                let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                return Double(repeats) * 2 * Double(m * n * k) / t / 1e9
            }
            for _ in 0..<rounds {
                let o = rate { Matrix.multiply(a, transposed: packed, bias: bias, into: &c) }
                let l = rate {
                    Matrix.gemm(a, .none, b, .transposed, into: &c)
                    c.addRowVector(bias)
                }
                lock.withLock { own.append(o); blas.append(l) }
            }
        }
        return (Self.median(own), Self.median(blas))
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// GFLOP/s of three n×n products (after one warm-up product).
    func dgemmRate(n: Int) -> Double {
        var g = SeededGenerator(seed: 7)
        let a = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
        let b = Matrix.gaussian(rows: n, columns: n, std: 1, using: &g)
        var c = Matrix(rows: n, columns: n)
        Matrix.gemm(a, .none, b, .none, into: &c)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<3 { Matrix.gemm(a, .none, b, .none, into: &c) }
        let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return 3 * 2 * Double(n * n * n) / t / 1e9
    }
}

final class FailureCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
