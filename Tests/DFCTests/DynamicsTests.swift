@testable import DFC
import LinearAlgebra
import Testing

@Suite("Euler–Maruyama dynamics")
struct DynamicsTests {
    @Test("a 1-D Ornstein–Uhlenbeck neuron reaches the stationary variance σ²/(τ(2 − dt/τ))")
    func ornsteinUhlenbeck() throws {
        // One linear neuron, no input weight, no feedback: τ dv = −v dt + σ dW.
        let tau = 0.2, sigma = 0.5, dt = 0.004
        let net = try Network(weights: [Matrix(rows: 1, columns: 1)], biases: [[0]], feedback: [Matrix(rows: 1, columns: 1)],
                              activations: [.linear])
        let controller = PIController(kp: 0, alpha: 1, tauU: 1, leak: .integral)
        let parameters = DynamicsParameters(controller: controller, tauV: tau, dt: dt, steps: 2000, sigma: sigma,
                                            transmission: .delayed)
        var options = DynamicsOptions()
        options.traceStride = 250
        let batch = 4096
        let x = Matrix(rows: batch, columns: 1)
        let ff = net.forward(x)
        var g = SeededGenerator(seed: 5)
        let run = Dynamics(network: net, parameters: parameters, options: options)
            .run(input: x, target: ff.output, feedforward: ff, generator: &g)
        // Exact variance of the Euler–Maruyama recursion v ← (1 − dt/τ) v + σ√dt/τ ξ.
        let exact = sigma * sigma / (tau * (2 - dt / tau))
        #expect(abs(exact / (sigma * sigma / (2 * tau)) - 1) < 0.011)
        let traces = try #require(run.traces)
        // States after t ≥ 5τ·… (index ≥ 2 of stride 250, t ≥ 2) are stationary; pool them.
        var s2 = 0.0, n = 0.0
        for k in 2..<traces.time.count {
            for v in traces.soma[0][k].storage { s2 += v * v; n += 1 }
        }
        let variance = s2 / n
        // 7 × 4096 draws: the estimate's relative standard error is about 0.6 %.
        #expect(abs(variance / exact - 1) < 0.03, "variance \(variance), expected \(exact)")
    }

    @Test("trajectory averages accumulated during the run equal the trapezoid and the plain mean over recorded traces",
          arguments: Conventions.TrajectoryAverage.allCases)
    func trajectoryAverage(average: Conventions.TrajectoryAverage) throws {
        var c = testConfiguration([3, 4, 3, 2])
        c.feedbackInit = .weightProduct
        c.control.steps = 40
        c.control.dt = 0.01
        c.conventions.trajectoryAverage = average
        let net = try randomNetwork(c, seed: 301)
        let x = randomBatch(5, 3, seed: 302), y = randomBatch(5, 2, seed: 303)
        var g = SeededGenerator(seed: 1)
        let s = try Solver(network: net, configuration: c).solve(input: x, labels: y, variant: .dfc, traceStride: 1, generator: &g)
        let t = try #require(s.traces)
        #expect(t.time.count == 41)
        for i in 0..<net.depth {
            var expected = Matrix(rows: net.weights[i].rows, columns: net.weights[i].columns)
            for k in 0...40 {
                let w: Double = average == .mean ? 1.0 / 41 : (k == 0 || k == 40 ? 0.5 / 40 : 1.0 / 40)
                let r = net.activations[i].apply(t.soma[i][k])
                let d = r - net.activations[i].apply(t.basal[i][k])
                let pre = i == 0 ? x : net.activations[i - 1].apply(t.soma[i - 1][k])
                expected += (d.transposed * pre) * w
            }
            #expect((s.dW[i] - expected).maxAbs < 1e-13, "layer \(i + 1)")
        }
    }

    @Test("instantaneous transmission feeds layer i the rates of layer i−1 updated in the same step")
    func transmission() throws {
        var c = testConfiguration([2, 3, 2])
        c.feedbackInit = .weightProduct
        c.control.steps = 1
        c.control.dt = 0.05
        let net = try randomNetwork(c, seed: 311)
        let x = randomBatch(1, 2, seed: 312), y = randomBatch(1, 2, seed: 313)
        let ff = net.forward(x)
        var g = SeededGenerator(seed: 1)
        for mode in Conventions.Transmission.allCases {
            c.conventions.transmission = mode
            let solver = try Solver(network: net, configuration: c)
            let (target, _) = solver.target(feedforward: ff, labels: y)
            let s = try solver.solve(input: x, labels: y, variant: .dfcSS, generator: &g)
            // One Euler step by hand.
            let e = target - ff.output
            let u = e * c.control.kp
            let gain = c.control.dt / c.control.tauV
            let v1 = ff.potentials[0] + (u * net.feedback[0].transposed) * gain
            let pre = mode == .delayed ? ff.rates[1] : Activation.tanh.apply(v1)
            var basal2 = pre * net.weights[1].transposed
            basal2.addRowVector(net.biases[1])
            let v2 = ff.potentials[1] + (basal2 - ff.potentials[1] + u * net.feedback[1].transposed) * gain
            #expect((s.soma[0] - v1).maxAbs < 1e-15)
            #expect((s.soma[1] - v2).maxAbs < 1e-15, "\(mode)")
        }
    }

    @Test("convergence verdicts: converged, not converged (too short), diverged (unstable feedback)")
    func convergence() throws {
        var c = testConfiguration([3, 4, 2])
        c.feedbackInit = .weightProduct
        c.control.steps = 4000
        let net = try randomNetwork(c, seed: 321)
        let x = randomBatch(4, 3, seed: 322), y = randomBatch(4, 2, seed: 323)
        var g = SeededGenerator(seed: 1)
        let ok = try Solver(network: net, configuration: c).solve(input: x, labels: y, variant: .dfcSS, generator: &g)
        #expect(ok.count(.converged) == 4)
        var short = c
        short.control.steps = 3
        let early = try Solver(network: net, configuration: short).solve(input: x, labels: y, variant: .dfcSS, generator: &g)
        #expect(early.count(.notConverged) == 4)
        var unstable = net
        unstable.feedback = net.feedback.map { $0 * -1 }     // J Q has negative eigenvalues: positive feedback
        let blown = try Solver(network: unstable, configuration: c).solve(input: x, labels: y, variant: .dfc, generator: &g)
        #expect(blown.count(.diverged) == 4)
        #expect(blown.dW.allSatisfy { $0.isFinite }, "a diverged sample is frozen before it poisons the update")
    }

    /// (noise entry, σ, τ_A, transmission): every writer of v and v^A that the divergence test
    /// relies on to count what left the bound (Euler step, soma noise, instantaneous and leaky
    /// apical compartment, with and without noise).
    static let censusCases: [(DynamicsOptions.NoiseEntry, Double, Double, Conventions.Transmission)] = [
        (.soma, 0, 0, .instantaneous), (.soma, 0.05, 0, .instantaneous), (.soma, 0.05, 0, .delayed),
        (.apical, 0.05, 0, .instantaneous), (.apical, 0, 0.1, .instantaneous), (.apical, 0.05, 0.1, .instantaneous),
        (.apical, 0.05, 0.1, .delayed),
    ]

    @Test("a runaway sample is frozen at the first state where v, v^A or u leaves the bound, whichever kernel wrote it",
          arguments: censusCases.indices)
    func divergenceCensus(index: Int) throws {
        let (entry, sigma, apicalTau, transmission) = Self.censusCases[index]
        var c = testConfiguration([3, 4, 2])
        c.feedbackInit = .weightProduct
        var unstable = try randomNetwork(c, seed: 321)
        unstable.feedback = unstable.feedback.map { $0 * -1 }     // positive feedback
        let bound = 50.0
        let parameters = DynamicsParameters(controller: c.controller, tauV: c.control.tauV, dt: c.control.dt, steps: 3000,
                                            sigma: sigma, transmission: transmission, divergenceBound: bound)
        var options = DynamicsOptions()
        options.traceStride = 1
        options.noiseEntry = entry
        options.apicalTau = apicalTau
        let x = randomBatch(6, 3, seed: 322)
        let ff = unstable.forward(x)
        var target = ff.output
        target.storage = target.storage.map { $0 + 0.3 }
        var g = SeededGenerator(seed: 4)
        let run = Dynamics(network: unstable, parameters: parameters, options: options)
            .run(input: x, target: target, feedforward: ff, generator: &g)
        #expect(run.diverged.allSatisfy { $0 }, "case \(index): \(run.diverged)")
        // Each state is recorded after its test, and a frozen sample is recorded at its
        // feedforward state with u = 0. So no sample may appear beyond the bound in the traces
        // before it appears frozen: a value the census missed would survive into them. (After
        // the freeze noise may carry it away again; a frozen sample is not tested again. An
        // instantaneous v^A is recomputed after the test, so only the leaky one is checked.)
        let traces = try #require(run.traces)
        func row(_ m: Matrix, _ s: Int) -> ArraySlice<Double> { m.storage[(s * m.columns)..<((s + 1) * m.columns)] }
        for s in 0..<x.rows {
            var frozenAt: Int?
            for k in 1..<traces.time.count {
                let atFeedforward = row(traces.u[k], s).allSatisfy { $0 == 0 }
                    && (0..<unstable.depth).allSatisfy { row(traces.soma[$0][k], s) == row(ff.potentials[$0], s) }
                if atFeedforward && frozenAt == nil { frozenAt = k }
                var recorded = traces.soma.map { row($0[k], s) } + [row(traces.u[k], s)]
                if apicalTau > 0 { recorded += traces.apical.map { row($0[k], s) } }
                let outside = recorded.reduce(0) { $0 + $1.filter { !(abs($0) <= bound) }.count }  // NaN counts
                if outside > 0 {
                    #expect(frozenAt != nil, "case \(index), sample \(s): \(outside) values beyond ±\(bound) at state \(k), not frozen")
                    break
                }
            }
            #expect(frozenAt != nil, "case \(index), sample \(s) never frozen")
        }
    }

    @Test("a batch split into chunks gives the same result as its chunks run alone")
    func chunking() throws {
        var c = testConfiguration([3, 4, 2])
        c.feedbackInit = .weightProduct
        c.control.steps = 100
        c.control.sigma = 0.05
        let net = try randomNetwork(c, seed: 331)
        let b = Dynamics.chunkSize + 10
        let x = randomBatch(b, 3, seed: 332), y = randomBatch(b, 2, seed: 333)
        let solver = try Solver(network: net, configuration: c)
        var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9)
        let whole = try solver.solve(input: x, labels: y, variant: .dfc, generator: &g1)
        let again = try solver.solve(input: x, labels: y, variant: .dfc, generator: &g2)
        #expect(whole.dW == again.dW, "same seed, same result")
        // The first chunk alone, with the generator stream chunk 0 uses.
        let head = 0..<Dynamics.chunkSize
        let ff = net.forward(x.rows(head))
        let (target, _) = solver.target(feedforward: net.forward(x), labels: y)
        var options = DynamicsOptions()
        options.forwardPlasticity = .trajectory(.integral)
        var g3 = SeededGenerator(seed: 9).derived(0)
        let alone = Dynamics(network: net, parameters: solver.forwardDynamics, options: options)
            .runChunk(input: x.rows(head), target: target.rows(head), feedforward: ff,
                      packed: Dynamics.PackedOperands(net), generator: &g3)
        #expect((whole.soma[1].rows(head) - alone.soma[1]).maxAbs == 0)
    }
}
