import Circuit
import Foundation
import DFC
import LinearAlgebra

/// The behavioral model of a DFC circuit in time, batched over samples (rows): the ideal
/// equations with each stage as the circuit builds it (`CircuitBehavior`; docs/behavioral-model.md):
///
///     x̃ = f(DAC_in(x)),  f(x) = (V₀/s)·sinh(s·x/V₀) for sinh cells, else x
///     v_i^B  ← lag τ_B:  W_i f(r_{i−1}) + b_i f(1) + δ_i^B + read noise
///     v_i^A  ← lag τ_A:  Q_i f(DAC_u(u)) + δ_i^A + read noise
///     τ_v dv_i/dt = −v_i + v_i^B + v_i^A + δ_i^S,      r_i = φ_i(v_i) (measured curve or equation)
///     e      ← lag τ_e:  r_L* − ADC(r_L) + δ^e,        e_g = e·enable(t)
///     u      ← lag τ_o:  u_int + k_p e_g + δ^o,        τ_u du_int/dt = e_g − α·leak + δ^int
///
/// every op-amp output clamped to its swing. "← lag τ" is a first-order lag, integrated
/// exactly over each step (x += (1 − e^(−dt/τ))(target − x)), so a stage far faster than dt
/// costs nothing in stability. The feedforward state is the circuit's DC point with the
/// controller gated off (e_g = 0), where the controller's own offsets already move u.
struct CircuitDynamics: Sendable {
    /// Effective weights (realised, finite-gain scaled) and φ (measured curves where the circuit has them).
    let network: Network
    let behavior: CircuitBehavior
    let configuration: Configuration
    /// Per layer: Σ over each cell pair of (g⁺² + g⁻²)/G_unit², cell by cell, for W|b and for Q:
    /// a row's read-noise variance is σ²·Σ_c S_jc x_c².
    let noiseWeights: [(forward: Matrix, feedback: Matrix)]
    /// Per layer, the W|b and Q arrays' read noise cell by cell (`CellReadNoise`), when the
    /// network is small enough to hold it; else `noiseWeights` and one process per row.
    let cellNoise: [(forward: CellReadNoise, feedback: CellReadNoise)]
    /// Per layer, S of the W|b array whenever there is read noise: the scale of one DC read's
    /// noise (`feedforward(_:readSeed:)`), on either path.
    let readScale: [Matrix]

    enum Plasticity: Equatable { case none, trajectory, finalState }

    /// One run of a batch.
    struct Outcome {
        /// The feedforward state (gate off) and the target r_L* it gives.
        var feedforwardPotentials: [Matrix]
        var feedforwardOutput: Matrix
        var target: Matrix
        var dW: [Matrix] = []
        var db: [[Double]] = []
        var status: [SampleStatus] = []
        /// Every state of sample 0 when traces were asked for.
        var trace: SampleRun?
    }

    init(network: Network, behavior: CircuitBehavior, configuration: Configuration, arrays: ProgrammedNetwork,
         mapper: DFCCircuitMapper) {
        self.network = network
        self.behavior = behavior
        self.configuration = configuration
        let noisy = behavior.readNoiseWhite > 0 || behavior.readNoisePink > 0
        let cells = (arrays.forward + arrays.feedback).reduce(0) { $0 + $1.gPlus.count }
        let samples = Int((Double(configuration.control.steps) * configuration.control.dt / behavior.readNoiseStep).rounded(.up)) + 1
        guard !noisy || 2 * cells * samples > CellReadNoise.budget else {
            // The netlist's seed: the SPICE backend writes its template with a zero input.
            let zero = [Double](repeating: 0, count: network.sizes[0])
            func noise(_ a: ProgrammedArray, _ index: Int) -> CellReadNoise {
                CellReadNoise(array: a, physics: mapper.cellPhysics(array: UInt64(index), input: zero, programmingRound: arrays.round),
                              timeScale: mapper.parameters.timeScale)
            }
            cellNoise = noisy ? (0..<arrays.forward.count).map { (noise(arrays.forward[$0], 2 * $0), noise(arrays.feedback[$0], 2 * $0 + 1)) } : []
            noiseWeights = []
            readScale = noisy ? arrays.forward.map(Self.noiseWeights) : []
            return
        }
        cellNoise = []
        noiseWeights = noisy ? (0..<arrays.forward.count).map { (Self.noiseWeights(arrays.forward[$0]), Self.noiseWeights(arrays.feedback[$0])) } : []
        readScale = noiseWeights.map(\.forward)
    }

    /// S = (G⁺∘G⁺ + G⁻∘G⁻)/G_unit²: a row's read-noise variance is σ²·Σ_c S_jc x_c².
    static func noiseWeights(_ a: ProgrammedArray) -> Matrix {
        let u2 = a.gUnit * a.gUnit
        return a.gPlus.zipMap(a.gMinus) { ($0 * $0 + $1 * $1) / u2 }
    }

    // MARK: - Stages

    func clamp(_ m: inout Matrix) {
        guard let rail = behavior.rail else { return }
        for k in m.storage.indices { m.storage[k] = min(rail, max(-rail, m.storage[k])) }
    }

    func lines(_ m: Matrix) -> Matrix { behavior.lineNonlinearity > 0 ? m.map(behavior.line) : m }

    /// The input DACs set DC values (the exact staircase); the loop's ADC and DAC are the
    /// netlist's continuous staircase (`Quantizer.continuous`).
    func quantized(_ m: Matrix, _ q: Quantizer?) -> Matrix { q.map { q in m.map { q($0) } } ?? m }
    func inLoop(_ m: Matrix, _ q: Quantizer?) -> Matrix { q.map { q in m.map { q.continuous($0) } } ?? m }

    /// W_i f(r) + b_i f(1) + δ^B: the basal node's drive.
    func basalDrive(_ i: Int, _ pre: Matrix) -> Matrix {
        var out = Matrix.product(pre, .none, network.weights[i], .transposed)
        let one = behavior.line(1)
        out.addRowVector(zip(network.biases[i], behavior.basalOffset[i]).map { $0 * one + $1 })
        return out
    }

    /// Q_i f(DAC(u)) + δ^A: the apical node's drive.
    func apicalDrive(_ i: Int, _ written: Matrix) -> Matrix {
        var out = Matrix.product(written, .none, network.feedback[i], .transposed)
        out.addRowVector(behavior.apicalOffset[i])
        return out
    }

    /// The controller's output from its integrator and gated error, before its lag.
    func controllerOutput(_ uInt: Matrix, _ eGated: Matrix) -> Matrix {
        var u = uInt
        u.addScaled(eGated, configuration.control.kp)
        u.addRowVector(behavior.outputOffset)
        clamp(&u)
        return u
    }

    /// 1 − e^(−dt/τ): the share of the way a lag of τ goes towards its target in one step.
    func lagGain(_ tau: Double, _ dt: Double) -> Double { tau > 0 ? -Foundation.expm1(-dt / tau) : 1 }

    func lag(_ x: inout Matrix, towards target: Matrix, gains: [Double]) {
        let n = x.columns
        for k in x.storage.indices { x.storage[k] += gains[k % n] * (target.storage[k] - x.storage[k]) }
    }

    /// r_L* = r_L⁻ − λ ∂L/∂r_L (Eq. 3) from the circuit's own feedforward output, as the SPICE
    /// backend takes it from the operating point.
    func target(output: Matrix, labels: Matrix) -> Matrix {
        let c = configuration
        return output + c.loss.gradient(output, labels, reduction: c.conventions.lossReduction) * -c.control.lambda
    }

    // MARK: - The DC point with the controller gated off

    struct State {
        var v: [Matrix], vB: [Matrix], vA: [Matrix], r: [Matrix]
        var uInt: Matrix, u: Matrix, e: Matrix
    }

    /// The circuit's operating point with e_g = 0: the integrator settles where α·leak = δ^int,
    /// then the layers one after another.
    func feedforward(_ input: Matrix) -> State {
        feedforward(firstBasal: firstBasalDrive(input))
    }

    /// Layer 1's basal drive W_1 f(DAC(x)) + b_1 f(1) + δ^B: constant while a sample is held.
    func firstBasalDrive(_ input: Matrix) -> Matrix { basalDrive(0, lines(quantized(input, behavior.converters.input))) }

    func feedforward(firstBasal: Matrix, read: DCRead? = nil) -> State {
        let B = firstBasal.rows, nL = network.outputSize
        let alpha = max(configuration.control.alpha, 1e-9)
        var uInt = Matrix(rows: B, columns: nL)
        for k in 0..<nL {
            let leakTarget = behavior.integratorOffset[k] / alpha
            // Integral leak: u_int itself settles; total leak: u does.
            let ui = configuration.conventions.leak == .integral ? leakTarget : leakTarget - behavior.outputOffset[k]
            for s in 0..<B { uInt[s, k] = ui }
        }
        clamp(&uInt)
        return settle(firstBasal: firstBasal, u: controllerOutput(uInt, Matrix(rows: B, columns: nL)), uInt: uInt, read: read)
    }

    /// The layers' DC state with the controller's output held at `u` (one read's noise on the
    /// basal drives if `read` is given).
    func settle(firstBasal: Matrix, u: Matrix, uInt: Matrix, read: DCRead? = nil) -> State {
        let B = firstBasal.rows, nL = network.outputSize
        let written = lines(inLoop(u, behavior.converters.write))
        var state = State(v: [], vB: [], vA: [], r: [], uInt: uInt, u: u, e: Matrix(rows: B, columns: nL))
        for i in 0..<network.depth {
            let pre = i == 0 ? nil : lines(state.r[i - 1])
            var vB = pre.map { basalDrive(i, $0) } ?? firstBasal
            if let read { vB += read.noise(layer: i, lines: pre ?? read.inputLines, dynamics: self) }
            let vA = apicalDrive(i, written)
            var v = vB + vA
            v.addRowVector(behavior.somaOffset[i])
            clamp(&v)
            state.v.append(v)
            state.vB.append(vB)
            state.vA.append(vA)
            state.r.append(network.phi(i, v))
        }
        return state
    }
}
