import Circuit
import DFC
import LinearAlgebra

extension CircuitDynamics {
    /// The circuit model's controlled steady state without integrating in time — `dfc-ssa` on
    /// the circuit: the state where the integrator rests, found by Newton iterations on u.
    ///
    /// At rest the integrator's input vanishes, so the error the controller holds is
    /// e_rest(u) = α·u − δ^int (leak of the total u) or α̃(u − δ^o) − δ^int/(1 + α k_p) (leak of
    /// u_int), while the circuit makes e(u) = r_L* − ADC(r_L(u)) + δ^e, r_L(u) the DC forward
    /// pass with the apical inputs Q f(DAC(u)) + δ^A. The residual R(u) = e(u) − e_rest(u) is
    /// solved by u ← u + (J Q + α̃ I)⁻¹ R(u) from the gated-off DC point, J the output Jacobian of
    /// the effective network at the current state: from an ideal circuit's u = 0 the first step
    /// is Lemma 1's u_ss exactly, and the following ones take the offsets, quantizers and the
    /// nonlinearity in. Lags do not change a steady state; read noise is left out (its mean is 0).
    func steadyState(input: Matrix, labels: Matrix, iterations: Int = 12, tolerance: Double = 1e-9) throws -> (Outcome, residual: Double) {
        let c = configuration
        let B = input.rows, nL = network.outputSize, L = network.depth
        let alpha = max(c.control.alpha, 1e-9), kp = c.control.kp
        let first = firstBasalDrive(input)
        let ff = feedforward(firstBasal: first)
        let ffOutput = ff.r[L - 1]
        let target = self.target(output: ffOutput, labels: labels)
        let integral = c.conventions.leak == .integral
        let alphaTilde = integral ? alpha / (1 + alpha * kp) : alpha

        func residual(_ state: State, _ u: Matrix) -> Matrix {
            var r = target - inLoop(state.r[L - 1], behavior.converters.read)
            for s in 0..<B {
                for k in 0..<nL {
                    let rest = integral ? alphaTilde * (u[s, k] - behavior.outputOffset[k]) - behavior.integratorOffset[k] / (1 + alpha * kp)
                        : alpha * u[s, k] - behavior.integratorOffset[k]
                    r[s, k] += behavior.errorOffset[k] - rest
                }
            }
            return r
        }
        // Each sample's step is halved until its residual shrinks: J ignores the sinh cells'
        // slope, the measured curve's and the ADC's staircase, so a full step can overshoot.
        func norm(_ m: Matrix, _ s: Int) -> Double { m.row(s).reduce(0) { max($0, abs($1)) } }
        // Behind an ADC the quasi-Newton search stalls near a riser (its slope is 1/w steps per
        // step, which J does not see): a quarter step is taken as at rest. On the 6-5-4-3 test
        // the update then lies within 2° of the simulated final state (docs/behavioral-model.md).
        let tolerance = behavior.converters.read.map { max(tolerance, $0.step / 4) } ?? tolerance
        var u = ff.u
        var state = ff
        var r = residual(state, u)
        for _ in 0..<iterations {
            if r.maxAbs <= tolerance { break }
            let step: Matrix
            do {
                step = try SteadyStateApproximation.solve(network.jacobianTimesFeedback(at: state.v), r, effectiveLeak: alphaTilde)
            } catch let e as SteadyStateApproximation.SingularSample {
                throw ModelError("dfc-ssa on the circuit: J·Q + α̃I is singular for sample \(e.sample); raise dfc.alpha or check Q")
            }
            var pending = Array(0..<B)
            var scale = 1.0
            for _ in 0..<12 where !pending.isEmpty {
                var trialU = u
                for s in pending { for k in 0..<nL { trialU[s, k] += scale * step[s, k] } }
                clamp(&trialU)
                // u_int is not what the update reads: the state holds u in its place.
                let trial = settle(firstBasal: first, u: trialU, uInt: trialU)
                let trialR = residual(trial, trialU)
                var still: [Int] = []
                for s in pending {
                    if norm(trialR, s) < norm(r, s) {
                        for k in 0..<nL { u[s, k] = trialU[s, k]; r[s, k] = trialR[s, k] }
                    } else {
                        still.append(s)
                    }
                }
                pending = still
                scale /= 2
            }
            state = settle(firstBasal: first, u: u, uInt: u)
            r = residual(state, u)
        }
        let worst = r.maxAbs
        var outcome = Outcome(feedforwardPotentials: ff.v, feedforwardOutput: ffOutput, target: target)
        var dW: [Matrix] = [], db: [[Double]] = []
        for i in 0..<L {
            let d = state.r[i] - network.phi(i, state.vB[i])
            dW.append(Matrix.product(d, .transposed, i == 0 ? input : state.r[i - 1], .none))
            db.append(d.columnSums())
        }
        outcome.dW = dW
        outcome.db = db
        let e = target - inLoop(state.r[L - 1], behavior.converters.read)
        outcome.status = (0..<B).map { s in
            SampleStatus.judge(error: e.row(s), u: u.row(s), delta: (target - ffOutput).row(s), effectiveLeak: alphaTilde,
                               tolerance: c.control.convergenceTolerance, diverged: !u.row(s).allSatisfy(\.isFinite))
        }
        return (outcome, worst)
    }
}
