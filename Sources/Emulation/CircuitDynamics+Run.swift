import Circuit
import DFC
import LinearAlgebra

extension CircuitDynamics {
    /// The controlled run of a batch from its gated-off DC point, with the forward plasticity
    /// of Eq. 5 gathered as the hardware-in-the-loop host gathers it from SPICE traces (the
    /// trapezoid rule in time, or the final state), from the circuit's own v, v^B and r.
    /// `traces` keeps every state of sample 0.
    func run(input: Matrix, labels: Matrix, plasticity: Plasticity, traces: Bool, noiseSeed: UInt64) -> Outcome {
        let c = configuration
        let net = network, b = behavior
        let L = net.depth, B = input.rows, nL = net.outputSize
        let dt = c.control.dt, n = c.control.steps
        let alpha = max(c.control.alpha, 1e-9)
        let leaksTotal = c.conventions.leak == .total

        let inputLines = lines(quantized(input, b.converters.input))
        let firstBasal = basalDrive(0, inputLines)
        var state = feedforward(firstBasal: firstBasal)
        let ffOutput = state.r[L - 1]
        let target = self.target(output: ffOutput, labels: labels)
        var outcome = Outcome(feedforwardPotentials: state.v, feedforwardOutput: ffOutput, target: target)

        let basalGains = b.basalLag.map { $0.map { lagGain($0, dt) } }
        let apicalGains = b.apicalLag.map { $0.map { lagGain($0, dt) } }
        let errorGain = [Double](repeating: lagGain(b.errorLag, dt), count: nL)
        let outputGain = [Double](repeating: lagGain(b.outputLag, dt), count: nL)
        let firstNoiseScale = noiseWeights.isEmpty ? firstBasal : noiseScale(weights: noiseWeights[0].forward, lines: inputLines, bias: true)

        let seeds = SeededGenerator(seed: noiseSeed)
        let noisy = !noiseWeights.isEmpty
        let stop = Double(n) * dt
        var basalNoise = noisy ? (0..<L).map { i in
            RowReadNoise(batch: 1, rows: net.weights[i].rows, white: b.readNoiseWhite, pink: b.readNoisePink,
                         step: b.readNoiseStep, stop: stop, seed: seeds.derived(UInt64(2 * i)).state.0)
        } : []
        var apicalNoise = noisy ? (0..<L).map { i in
            RowReadNoise(batch: 1, rows: net.weights[i].rows, white: b.readNoiseWhite, pink: b.readNoisePink,
                         step: b.readNoiseStep, stop: stop, seed: seeds.derived(UInt64(2 * i + 1)).state.0)
        } : []
        let somaNoise = c.control.sigma > 0 ? c.control.sigma * dt.squareRoot() / c.control.tauV : 0
        var lanes = NormalLanes(generator: seeds.derived(0x50A))

        // The target is set at t = 0: the error node holds r_L* − ADC(r_L) + δ^e from the start.
        func errorDrive(_ r: Matrix) -> Matrix {
            var e = target - inLoop(r, b.converters.read)
            e.addRowVector(b.errorOffset)
            clamp(&e)
            return e
        }
        state.e = errorDrive(state.r[L - 1])
        let initialError = state.e

        let gather = plasticity != .none
        var dW = gather ? net.weights.map { Matrix(rows: $0.rows, columns: $0.columns) } : []
        var db = gather ? net.weights.map { [Double](repeating: 0, count: $0.rows) } : []
        var firstLayerSum = Matrix(rows: B, columns: net.weights[0].rows)
        var recorded: [[Double]] = []   // time
        var soma: [[Matrix]] = Array(repeating: [], count: L), basal = soma, apical = soma, rates = soma
        var us: [Matrix] = [], es: [Matrix] = []
        var eGated = Matrix(rows: B, columns: nL)

        for k in 0...n {
            let t = Double(k) * dt
            if k > 0 {
                // The nodes at state k, each lagging towards what its inputs drive.
                for i in 0..<L {
                    let pre = i == 0 ? inputLines : lines(state.r[i - 1])
                    // Layer 1's lines are the constant input: its product (and its noise's scale) once per run.
                    var drive = i == 0 ? firstBasal : basalDrive(i, pre)
                    if noisy {
                        drive += i == 0 ? readNoise(&basalNoise[0], scale: firstNoiseScale, at: t)
                            : readNoise(&basalNoise[i], weights: noiseWeights[i].forward, lines: pre, bias: true, at: t)
                    }
                    if !cellNoise.isEmpty { drive += cellReadNoise(cellNoise[i].forward, lines: pre, bias: true, at: t) }
                    clamp(&drive)
                    lag(&state.vB[i], towards: drive, gains: basalGains[i])
                }
                lag(&state.e, towards: errorDrive(state.r[L - 1]), gains: errorGain)
            }
            let enable = b.enableRise > 0 ? min(1, t / b.enableRise) : (t > 0 ? 1 : 0)
            eGated = state.e * enable
            if k > 0 {
                lag(&state.u, towards: controllerOutput(state.uInt, eGated), gains: outputGain)
                let written = lines(inLoop(state.u, b.converters.write))
                for i in 0..<L {
                    var drive = apicalDrive(i, written)
                    if noisy { drive += readNoise(&apicalNoise[i], weights: noiseWeights[i].feedback, lines: written, bias: false, at: t) }
                    if !cellNoise.isEmpty { drive += cellReadNoise(cellNoise[i].feedback, lines: written, bias: false, at: t) }
                    clamp(&drive)
                    lag(&state.vA[i], towards: drive, gains: apicalGains[i])
                }
            }

            // Plasticity at state k: trapezoid weights of the time average, or the last state.
            let weight: Double = switch plasticity {
            case .none: 0
            case .finalState: k == n ? 1 : 0
            case .trajectory: n == 0 ? 1 : (k == 0 || k == n ? 0.5 : 1) / Double(n)
            }
            if weight > 0 {
                for i in 0..<L {
                    var d = state.r[i] - net.phi(i, state.vB[i])
                    d = d * weight
                    if i == 0 {
                        firstLayerSum += d
                    } else {
                        dW[i] += Matrix.product(d, .transposed, state.r[i - 1], .none)
                        let sums = d.columnSums()
                        for j in 0..<sums.count { db[i][j] += sums[j] }
                    }
                }
            }
            if traces {
                recorded.append([t])
                for i in 0..<L {
                    soma[i].append(Matrix(row: state.v[i].row(0)))
                    basal[i].append(Matrix(row: state.vB[i].row(0)))
                    apical[i].append(Matrix(row: state.vA[i].row(0)))
                    rates[i].append(Matrix(row: state.r[i].row(0)))
                }
                us.append(Matrix(row: state.u.row(0)))
                es.append(Matrix(row: state.e.row(0)))
            }
            if k == n { break }

            // Euler step of the integrators: the somas and the controller's u_int.
            let gain = dt / c.control.tauV
            for i in 0..<L {
                var drive = state.vB[i] + state.vA[i] - state.v[i]
                drive.addRowVector(b.somaOffset[i])
                state.v[i].addScaled(drive, gain)
                if somaNoise > 0 { lanes.fill(&state.v[i].storage, scale: somaNoise, add: true) }
                clamp(&state.v[i])
                state.r[i] = net.phi(i, state.v[i])
            }
            var integratorDrive = eGated - (leaksTotal ? state.u : state.uInt) * alpha
            integratorDrive.addRowVector(b.integratorOffset)
            state.uInt.addScaled(integratorDrive, dt / c.control.tauU)
            clamp(&state.uInt)
        }

        if gather {
            dW[0] = Matrix.product(firstLayerSum, .transposed, input, .none)
            db[0] = firstLayerSum.columnSums()
            outcome.dW = dW
            outcome.db = db
        }
        outcome.status = (0..<B).map { s in
            let finite = state.v.allSatisfy { $0.row(s).allSatisfy(\.isFinite) } && state.u.row(s).allSatisfy(\.isFinite)
            return SampleStatus.judge(error: state.e.row(s), u: state.u.row(s), delta: initialError.row(s),
                                      effectiveLeak: c.controller.effectiveLeak, tolerance: c.control.convergenceTolerance,
                                      diverged: !finite)
        }
        if traces {
            outcome.trace = SampleRun(time: recorded.map { $0[0] }, soma: soma.map(Matrix.vstack), basal: basal.map(Matrix.vstack),
                                      apical: apical.map(Matrix.vstack), rates: rates.map(Matrix.vstack),
                                      u: Matrix.vstack(us), error: Matrix.vstack(es), input: input.row(0),
                                      feedforward: outcome.feedforwardPotentials.map { $0.row(0) }, target: target.row(0))
        }
        return outcome
    }
}
