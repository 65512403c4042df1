import Foundation
import DFC
@testable import DynamicInversion
import LinearAlgebra
import Testing

func inversionNetwork(_ sizes: [Int], hidden: Activation = .tanh, seed: UInt64) throws -> Network {
    var c = Configuration()
    c.sizes = sizes
    c.activations = Array(repeating: hidden, count: sizes.count - 2) + [.linear]
    return try Network.initialized(c, seed: seed)
}

func gaussian(_ rows: Int, _ columns: Int, seed: UInt64, std: Double = 1) -> Matrix {
    var g = SeededGenerator(seed: seed)
    return Matrix.gaussian(rows: rows, columns: columns, std: std, using: &g)
}

func relativeError(_ a: Matrix, _ b: Matrix) -> Double { (a - b).frobeniusNorm / max(b.frobeniusNorm, 1e-300) }

@Suite("Dynamic inversion: one layer pair")
struct InversionLayerTests {
    @Test("NDI equals Eq. 10's second form (B W − α I)⁻¹ B δ, computed independently", arguments: [(8, 5), (5, 8), (6, 6)])
    func ndiClosedForm(shape: (Int, Int)) throws {
        let (below, above) = shape
        let w = gaussian(above, below, seed: 1), b = gaussian(below, above, seed: 2)
        let layer = InversionLayer(weights: w, feedback: b, alpha: 0.3)
        let delta = gaussian(4, above, seed: 3)
        var bw = b * w
        for k in 0..<bw.rows { bw[k, k] -= 0.3 }
        // Column form of Eq. 10: δ_{l−1} = (B W − α I)⁻¹ B δ_l, with an explicit inverse.
        let reference = (try bw.solve(Matrix.identity(below)) * (b * delta.transposed)).transposed
        let ndi = try layer.steadyState(target: delta).delta
        #expect(relativeError(ndi, reference) < 1e-10)
    }

    @Test("DI's simulated steady state matches NDI to the Euler error, and its residual says so")
    func diMatchesNDI() throws {
        let w = gaussian(5, 8, seed: 4, std: 0.4)
        let layer = InversionLayer(weights: w, feedback: w.transposed * -1, alpha: 0.1)
        let delta = gaussian(3, 5, seed: 5)
        let exact = try layer.steadyState(target: delta).delta
        let limit = try layer.eulerStepLimit()
        let diverging = layer.simulate(target: delta, dt: 1.05 * limit, steps: 2000)
        #expect(!(diverging.residual < 1), "a step past the limit must not converge: \(diverging.residual)")
        let run = layer.simulate(target: delta, dt: 0.5 * limit, steps: 3000)
        #expect(run.residual < 1e-8)
        #expect(relativeError(run.delta, exact) < 1e-8)
        // Too few steps: the residual reports it.
        let short = layer.simulate(target: delta, dt: 0.5, steps: 5)
        #expect(short.residual > 1e-2)
    }

    @Test("contracting and expanding layers' reduced Euler runs are the full one, step for step",
          arguments: [(6, 30), (30, 6)], [5, 40, 400])
    func reducedEulerIsFull(shape: (Int, Int), steps: Int) throws {
        // Random B (not −Wᵀ), so W B has no special structure; a short run is far from the
        // fixed point, a long one near it: both must agree, not just the steady states.
        let (above, below) = shape
        let w = gaussian(above, below, seed: 21, std: 0.3), b = gaussian(below, above, seed: 22, std: 0.3)
        let layer = InversionLayer(weights: w, feedback: b * -1 + w.transposed * -1, alpha: 0.2)
        let delta = gaussian(3, above, seed: 23)
        let dt = 0.5 * (try layer.eulerStepLimit())
        let full = layer.simulateFull(target: delta, dt: dt, steps: steps)
        let reduced = above < below ? layer.simulateContracting(target: delta, dt: dt, steps: steps)
                                    : layer.simulateExpanding(target: delta, dt: dt, steps: steps)
        #expect(relativeError(reduced.delta, full.delta) < 1e-11)
        #expect(relativeError(reduced.u, full.u) < 1e-11)
        #expect(abs(reduced.residual - full.residual) <= 1e-8 * full.residual)
        // simulate picks the reduced form for these shapes.
        let picked = layer.simulate(target: delta, dt: dt, steps: steps)
        #expect(picked.delta.storage == reduced.delta.storage)
    }

    @Test("square invertible layer with α → 0: DI's δ equals W⁻¹ δ")
    func squareInverse() throws {
        let w = gaussian(6, 6, seed: 6, std: 0.5)
        let layer = InversionLayer(weights: w, feedback: w.transposed * -1, alpha: 1e-9)
        let delta = gaussian(2, 6, seed: 7)
        let inverse = (try w.solve(delta.transposed)).transposed
        let run = layer.simulate(target: delta, dt: 0.5 * (try layer.eulerStepLimit()), steps: 200_000)
        #expect(relativeError(run.delta, inverse) < 1e-5, "\(relativeError(run.delta, inverse))")
    }

    @Test("with B = −Wᵀ and α → 0 a contracting layer's NDI is the pseudoinverse (PBP)")
    func trInitIsPseudoinverse() throws {
        let w = gaussian(4, 9, seed: 8)
        let layer = InversionLayer(weights: w, feedback: w.transposed * -1, alpha: 1e-10)
        let delta = gaussian(3, 4, seed: 9)
        let pbp = Matrix.product(delta, .none, try w.pseudoInverse(), .transposed)
        #expect(relativeError(try layer.steadyState(target: delta).delta, pbp) < 1e-7)
    }
}

@Suite("Dynamic inversion: networks")
struct InversionModelTests {
    @Test("Tr-Init and R-Init give stable controllers; R-Init stays away from −Wᵀ")
    func initializationsAreStable() throws {
        let net = try inversionNetwork([30, 20, 10, 10], seed: 10)
        let tr = try InversionModel.initialized(network: net, initialization: .transpose, alpha: 0.1, seed: 1)
        let r = try InversionModel.initialized(network: net, initialization: .random, alpha: 0.1, margin: 0.05, seed: 1)
        for l in 2...3 {
            #expect(try tr.layer(l, alpha: 0.1).maxRealEigenvalue() <= -0.1 + 1e-9)
            #expect(try r.layer(l, alpha: 0.1).maxRealEigenvalue() <= -0.05 + 1e-9)
            #expect(try r.layer(l, alpha: 0.1).coupledAbscissa() <= -0.05 + 1e-9)
        }
        var p = InversionParameters()
        p.steps = 5_000
        let ff = net.forward(gaussian(4, 30, seed: 11))
        let d = try r.diagnostics(feedforward: ff, outputError: gaussian(4, 10, seed: 12), parameters: p)
        #expect(d.feedbackAngles.allSatisfy { $0 > 20 }, "R-Init angles to −Wᵀ: \(d.feedbackAngles)")
        #expect(d.angleDIvsNDI.allSatisfy { $0 < 1e-3 }, "DI vs NDI: \(d.angleDIvsNDI), eig \(d.maxRealEigenvalues)")
        #expect(d.singleLoopMaxRealEigenvalue < 0)
    }

    @Test("R-Init descends the smoothed spectral abscissa only as far as stability needs")
    func randomInitBySmoothedSpectralAbscissa() throws {
        var g = SeededGenerator(seed: 5)
        let w = Matrix.gaussian(rows: 10, columns: 20, std: (2.0 / 30).squareRoot(), using: &g)
        let b = Matrix.gaussian(rows: 20, columns: 10, std: (2.0 / 30).squareRoot(), using: &g)
        let alpha = 0.1, margin = 0.05
        #expect(try InversionLayer(weights: w, feedback: b, alpha: alpha).maxRealEigenvalue() > -margin, "the draw must need stabilizing")
        let s = try InversionModel.stabilized(b, forward: w, alpha: alpha, margin: margin)
        let pair = InversionLayer(weights: w, feedback: s, alpha: alpha)
        #expect(try pair.maxRealEigenvalue() <= -margin && pair.coupledAbscissa() <= -margin)
        // It moved, and it is not Tr-Init's −Wᵀ.
        #expect(s != b)
        #expect(angleDegrees(s.storage, (w.transposed * -1).storage) > 20, "to the draw \(angleDegrees(s.storage, b.storage))°, to −Wᵀ \(angleDegrees(s.storage, (w.transposed * -1).storage))°")
        #expect(try InversionModel.stabilized(s, forward: w, alpha: alpha, margin: margin) == s, "a stable B must come back unchanged")
        // An expanding layer keeps d_l − d_{l−1} eigenvalues at −α: a margin above α is refused up front.
        let expanding = Matrix.gaussian(rows: 20, columns: 10, std: 0.3, using: &g)
        #expect { _ = try InversionModel.stabilized(Matrix.gaussian(rows: 10, columns: 20, std: 0.3, using: &g), forward: expanding, alpha: 0.01, margin: margin) } throws: { "\($0)".contains("zero eigenvalues") }
    }

    @Test("on a linear network every rule's errors agree with its definition; bp is the gradient")
    func rulesOnLinearNetwork() throws {
        let net = try inversionNetwork([6, 5, 4], hidden: .linear, seed: 13)
        let model = try InversionModel.initialized(network: net, initialization: .transpose, alpha: 1e-9, seed: 2)
        let ff = net.forward(gaussian(3, 6, seed: 14))
        let dL = gaussian(3, 4, seed: 15)
        var p = InversionParameters()
        p.alpha = 1e-9
        let bp = try model.backward(.bp, feedforward: ff, outputError: dL, parameters: p).deltas[0]
        #expect(relativeError(bp, dL * net.weights[1]) < 1e-14)
        let pbp = try model.backward(.pbp, feedforward: ff, outputError: dL, parameters: p).deltas[0]
        let ndi = try model.backward(.ndi, feedforward: ff, outputError: dL, parameters: p).deltas[0]
        // 5 → 4 contracts: W₂ (4×5) has full row rank, B = −Wᵀ gives the pseudoinverse.
        #expect(relativeError(ndi, pbp) < 1e-6)
        // SLDI on a two-layer linear net is the same single inversion.
        p.steps = 20_000
        p.dt = 0.2
        let sldi = try model.backward(.sldi, feedforward: ff, outputError: dL, parameters: p)
        #expect(relativeError(sldi.deltas[0], ndi) < 1e-5)
    }

    @Test("bad setups are refused before a run: α = 0 with an expanding layer, an unstable controller")
    func badSetupsRefused() throws {
        let net = try inversionNetwork([5, 4, 8], hidden: .linear, seed: 16)
        let model = try InversionModel.initialized(network: net, initialization: .transpose, alpha: 0, seed: 3)
        var p = InversionParameters()
        p.alpha = 0
        #expect(throws: ModelError.self) { try model.check(.ndi, parameters: p) }
        var unstable = try InversionModel.initialized(network: try inversionNetwork([6, 5, 3], seed: 17), initialization: .transpose,
                                                      alpha: 0.1, seed: 4)
        unstable.feedback[0] = unstable.feedback[0] * -1     // B = +Wᵀ: W B positive definite
        p.alpha = 0.1
        #expect(throws: ModelError.self) { try unstable.check(.di, parameters: p) }
        #expect(throws: ModelError.self) {
            _ = try InversionTrainer(model: unstable, rule: .di, parameters: p, training: InversionTraining(), loss: .mse, seed: 1)
        }
    }

    @Test("the in-place step is Eq. 2's −rate·Σ δ hᵀ, and its norm the norm of the formed update")
    func updateInPlace() throws {
        let net = try inversionNetwork([6, 5, 4], seed: 22)
        var model = try InversionModel.initialized(network: net, initialization: .transpose, alpha: 0.1, seed: 6)
        let ff = net.forward(gaussian(3, 6, seed: 23))
        let pass = try model.backward(.ndi, feedforward: ff, outputError: gaussian(3, 4, seed: 24), parameters: InversionParameters())
        let rate = 0.037
        var squared = 0.0
        var expected = net.weights, expectedBiases = net.biases
        for l in 0..<2 {
            // Formed explicitly, sample by sample.
            var dW = Matrix(rows: net.weights[l].rows, columns: net.weights[l].columns)
            for s in 0..<3 {
                for i in 0..<dW.rows { for j in 0..<dW.columns { dW[i, j] -= pass.deltas[l][s, i] * ff.rates[l][s, j] } }
            }
            let db = (0..<dW.rows).map { i in -(0..<3).reduce(0) { $0 + pass.deltas[l][$1, i] } }
            squared += dW.frobeniusNorm * dW.frobeniusNorm + db.reduce(0) { $0 + $1 * $1 }
            expected[l] += dW * rate
            for i in db.indices { expectedBiases[l][i] += rate * db[i] }
        }
        let norm = model.updateNormSquared(pass, feedforward: ff)
        #expect(abs(norm - squared) <= 1e-12 * squared)
        model.applyUpdate(pass, feedforward: ff, rate: rate)
        for l in 0..<2 {
            #expect(relativeError(model.network.weights[l], expected[l]) < 1e-14)
            for i in expectedBiases[l].indices { #expect(abs(model.network.biases[l][i] - expectedBiases[l][i]) < 1e-14) }
        }
    }

    @Test("NDI and DI training lower the NMSE of the DI paper's linear regression 30-20-10")
    func learnsLinearRegression() throws {
        let teacher = try inversionNetwork([30, 20, 10], hidden: .linear, seed: 18)
        let x = gaussian(300, 30, seed: 19), tx = gaussian(100, 30, seed: 20)
        let y = teacher.forward(x).output, ty = teacher.forward(tx).output
        for rule in [InversionRule.ndi, .di] {
            let student = try inversionNetwork([30, 20, 10], hidden: .linear, seed: 21)
            var p = InversionParameters()
            p.steps = 200
            var t = InversionTraining()
            t.epochs = 4
            t.batchSize = 10
            t.learningRate = 0.002
            var trainer = try InversionTrainer(model: try .initialized(network: student, initialization: .transpose, alpha: p.alpha, seed: 5),
                                               rule: rule, parameters: p, training: t, loss: .mse, seed: 7)
            var nmse: [Double] = []
            try trainer.run(trainX: x, trainY: y, testX: tx, testY: ty, classification: false) { nmse.append($0.testNMSE ?? .nan) }
            #expect(nmse.count == 5)
            #expect(nmse[4] < 0.5 * nmse[0], "\(rule): NMSE \(nmse)")
        }
    }
}

@Suite("Dynamic inversion: the coupled pair's spectrum")
struct CoupledSpectrumTests {
    @Test("eigenvalues from W B's quadratic equal those of the full (δ, u) matrix", arguments: [(7, 4), (4, 7), (5, 5)])
    func coupledEigenvalues(shape: (Int, Int)) throws {
        let (below, above) = shape
        let pair = InversionLayer(weights: gaussian(above, below, seed: 30), feedback: gaussian(below, above, seed: 31), alpha: 0.2)
        var full = try pair.coupledMatrix.eigenvalues()
        let fast = try pair.coupledEigenvalues()
        #expect(fast.count == full.count)
        // Match each to the nearest unused one (sorting breaks ties in conjugate pairs arbitrarily).
        for a in fast {
            let k = full.indices.min { hypot(full[$0].re - a.re, full[$0].im - a.im) < hypot(full[$1].re - a.re, full[$1].im - a.im) }!
            #expect(hypot(full[k].re - a.re, full[k].im - a.im) < 1e-7, "\(a) vs \(full[k])")
            full.remove(at: k)
        }
    }
}
