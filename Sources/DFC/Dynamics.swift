import LinearAlgebra

/// What one simulated run of the coupled network–controller dynamics records.
public struct DynamicsOptions: Sendable {
    /// How the forward plasticity of Eq. 5 is gathered.
    public enum ForwardPlasticity: Sendable, Equatable {
        case none
        /// Averaged over the trajectory (`dfc`), with the convention's weights.
        case trajectory(Conventions.TrajectoryAverage)
        /// The final state only (`dfc-ss`, Eq. 9 with φ).
        case finalState
    }

    /// Where the noise σ enters (Eq. 12).
    public enum NoiseEntry: Sendable, Equatable {
        /// Into the soma: τ_v dv = (…) dt + σ dW.
        case soma
        /// Into the apical compartment v^A (the feedback phase, Eq. 13's v^fb).
        case apical
    }

    public var forwardPlasticity: ForwardPlasticity = .none
    /// Gather −v^A uᵀ over the trajectory (Eq. 13).
    public var feedbackPlasticity = false
    public var traceStride = 0
    public var noiseEntry: NoiseEntry = .soma
    /// τ_A of the apical compartment: 0 means v^A = Q u instantly.
    public var apicalTau: Double = 0

    public init() {}
}

/// Parameters of the ODE being integrated (one phase: forward or feedback).
public struct DynamicsParameters: Sendable {
    public var controller: PIController
    public var tauV: Double
    public var dt: Double
    public var steps: Int
    public var sigma: Double
    public var transmission: Conventions.Transmission
    public var divergenceBound: Double

    public init(controller: PIController, tauV: Double, dt: Double, steps: Int, sigma: Double,
                transmission: Conventions.Transmission, divergenceBound: Double = 1e6) {
        self.controller = controller
        self.tauV = tauV
        self.dt = dt
        self.steps = steps
        self.sigma = sigma
        self.transmission = transmission
        self.divergenceBound = divergenceBound
    }
}

/// Traces kept every `stride` states (and the last one): time and, per recorded
/// state, one batch × n matrix per signal.
public struct Traces: Sendable {
    public var time: [Double] = []
    /// v_i per layer: `soma[i][k]` is layer i+1 at recorded state k.
    public var soma: [[Matrix]] = []
    public var basal: [[Matrix]] = []
    public var apical: [[Matrix]] = []
    public var u: [Matrix] = []
    public var error: [Matrix] = []
}

/// The end of a run.
public struct DynamicsResult: Sendable {
    /// v_i at the end (batch × n_i, index 0 is layer 1).
    public var soma: [Matrix]
    public var basal: [Matrix]
    public var apical: [Matrix]
    public var u: Matrix
    public var error: Matrix
    /// Σ_samples of the forward update ΔW_i and Δb_i (empty when not gathered).
    public var dW: [Matrix]
    public var db: [[Double]]
    /// Σ_samples of the time-averaged −v^A uᵀ (empty when not gathered); decay not included.
    public var dQ: [Matrix]
    public var traces: Traces?
    /// Samples whose state left the divergence bound or turned non-finite. Their rows
    /// are frozen at the feedforward state from then on and stop contributing.
    public var diverged: [Bool]
}

/// Euler–Maruyama integration of the coupled dynamics, batched over samples
/// (rows), for one fixed set of weights:
///
///     τ_v dv_i = (−v_i + v_i^B + v_i^A) dt + σ dW_i,  v_i^B = W_i r_{i−1} + b_i,  v_i^A = Q_i u
///     u = u_int + k_p e,  e = r_L* − r_L,  τ_u du_int = (e − α·leaked) dt
///
/// from the feedforward state (v = v⁻, u_int = 0). The plasticity integrals are
/// accumulated while the run goes, so the trajectory is never stored whole, and the
/// first layer's basal input W_1 x + b_1, constant during a sample, is computed once.
public struct Dynamics: Sendable {
    public let network: Network
    public let parameters: DynamicsParameters
    public let options: DynamicsOptions

    public init(network: Network, parameters: DynamicsParameters, options: DynamicsOptions) {
        self.network = network
        self.parameters = parameters
        self.options = options
    }

    /// Weight of state k (0…N) in the trajectory average.
    func trajectoryWeight(_ k: Int, _ n: Int, _ average: Conventions.TrajectoryAverage) -> Double {
        switch average {
        case .mean: return 1 / Double(n + 1)
        case .integral:
            if n == 0 { return 1 }
            return (k == 0 || k == n) ? 0.5 / Double(n) : 1 / Double(n)
        }
    }

    /// W_i (i > 1) and Q_i, fixed for a run, packed once for the per-step products and
    /// shared by the run's chunks.
    struct PackedOperands: Sendable {
        /// nil for layer 1, whose basal input W_1 x + b_1 is constant during the run.
        let weights: [PackedTranspose?]
        let feedback: [PackedTranspose]

        init(_ network: Network) {
            weights = network.weights.indices.map { $0 == 0 ? nil : PackedTranspose(network.weights[$0]) }
            feedback = network.feedback.map(PackedTranspose.init)
        }
    }

    func runChunk(input: Matrix, target: Matrix, feedforward: FeedforwardState, packed: PackedOperands,
                  generator: inout SeededGenerator) -> DynamicsResult {
        let net = network
        let L = net.depth
        let B = input.rows
        let p = parameters
        let n = p.steps
        let controller = p.controller

        var v = feedforward.potentials
        var r = feedforward.rates
        // At the feedforward equilibrium the basal input equals v itself.
        var vB = feedforward.potentials
        var vA = (0..<L).map { Matrix(rows: B, columns: net.weights[$0].rows) }
        var uInt = Matrix(rows: B, columns: net.outputSize)
        var u = uInt
        var e = uInt
        var phiBasal = (0..<L).map { Matrix(rows: B, columns: net.weights[$0].rows) }
        var d = phiBasal
        var scratch = vA
        let packedW = packed.weights, packedQ = packed.feedback
        func basal(_ i: Int, _ rates: Matrix, into out: inout Matrix) {
            if let w = packedW[i] { Matrix.multiply(rates, transposed: w, bias: net.biases[i], into: &out) }
        }
        // Euler–Maruyama noise in eight lanes (see `NormalLanes`), seeded from this chunk's generator.
        var noise = NormalLanes(generator: generator)
        var diverged = [Bool](repeating: false, count: B)
        var target = target
        var firstBasalRatesReady = false

        let gatherForward = options.forwardPlasticity != .none
        var dW = gatherForward ? net.weights.map { Matrix(rows: $0.rows, columns: $0.columns) } : []
        var db = gatherForward ? net.weights.map { [Double](repeating: 0, count: $0.rows) } : []
        // Σ_k w_k d_1(k): the first layer's presynaptic rate is the constant input,
        // so its outer product is taken once at the end.
        var firstLayerSum = Matrix(rows: B, columns: net.weights[0].rows)
        // Σ_k −w_k u(k) v^A_i(k)ᵀ = ΔQ_iᵀ (n_L × n_i), added every step by the narrow kernel
        // of `Matrix.addProduct(transposed:…)`: u has only n_L columns.
        var dQt = options.feedbackPlasticity ? net.feedback.map { Matrix(rows: $0.columns, columns: $0.rows) } : []
        // The forward integral is folded in 8 steps at a time (see `OuterProductBlock`).
        var forwardBlocks = gatherForward && L > 1
            ? (1..<L).map { OuterProductBlock(rowsPerStep: B, leftColumns: net.weights[$0].rows, rightColumns: net.weights[$0].columns) } : []
        var traces: Traces? = options.traceStride > 0 ? Traces() : nil
        if traces != nil {
            traces?.soma = Array(repeating: [], count: L)
            traces?.basal = Array(repeating: [], count: L)
            traces?.apical = Array(repeating: [], count: L)
        }
        let somaNoise = options.noiseEntry == .soma ? p.sigma * p.dt.squareRoot() / p.tauV : 0
        let apicalLeaky = options.apicalTau > 0
        let apicalNoise: Double = {
            guard options.noiseEntry == .apical else { return 0 }
            // White noise of intensity σ: per step σ·ξ/√dt when instantaneous,
            // σ√dt/τ_A·ξ as the Euler–Maruyama increment of a leaky compartment.
            return apicalLeaky ? p.sigma * p.dt.squareRoot() / options.apicalTau : p.sigma / p.dt.squareRoot()
        }()

        let bound = p.divergenceBound
        // The divergence test of state k reads v, v^A and u. The kernels that write v and v^A
        // last before it count what lies outside (see `eulerSoma`); here the initial state.
        var outsideCount = (v + vA).reduce(0) { $0 + countOutside($1, bound) }
        // v is counted where it is written last: after its noise, if any, else by the Euler
        // step, which also counts an instantaneous, noiseless v^A, the value it reads.
        let somaCensus: VectorMath.Census = (somaNoise > 0 ? [] : VectorMath.Census.result)
            .union(!apicalLeaky && apicalNoise == 0 ? VectorMath.Census.input : [])

        for k in 0...n {
            // Controller output at state k.
            e.storage = target.storage
            e.addScaled(r[L], -1)
            controller.output(integral: uInt, error: e, into: &u)

            // Divergence: freeze a runaway sample at its feedforward state. The writers'
            // counts (and one pass over the small u) say whether any value is out of bounds at all.
            // The apical compartment counts too: in the feedback phase it integrates on its own.
            let outOfBounds = outsideCount + countOutside(u, bound)
            outsideCount = 0
            for s in 0..<B where outOfBounds > 0 && !diverged[s] {
                if !rowWithin(v + vA, s, bound: bound) || !rowWithin([u], s, bound: bound) {
                    diverged[s] = true
                    freeze(sample: s, v: &v, r: &r, vB: &vB, vA: &vA, uInt: &uInt, u: &u, e: &e,
                           target: &target, feedforward: feedforward)
                }
            }

            // Apical compartment at state k (instantaneous case: Q u, plus white noise).
            if !apicalLeaky {
                for i in 0..<L {
                    Matrix.multiply(u, transposed: packedQ[i], into: &vA[i])
                    if apicalNoise > 0 {
                        outsideCount += addNoise(&vA[i], scale: apicalNoise, lanes: &noise, bound: bound)
                    }
                }
            }

            // Plasticity at state k.
            let weight: Double
            switch options.forwardPlasticity {
            case .none: weight = 0
            case .finalState: weight = k == n ? 1 : 0
            case .trajectory(let average): weight = trajectoryWeight(k, n, average)
            }
            if weight > 0 {
                for i in 0..<L {
                    // Layer 1's basal input is the constant W_1 x + b_1: φ of it once per run.
                    if i > 0 || !firstBasalRatesReady {
                        net.phi(i, vB[i], into: &phiBasal[i])
                        firstBasalRatesReady = true
                    }
                    subtract(r[i + 1], phiBasal[i], into: &d[i])
                    if i == 0 {
                        firstLayerSum.addScaled(d[0], weight)
                    } else {
                        forwardBlocks[i - 1].append(d[i], scale: weight, r[i])
                        if forwardBlocks[i - 1].isFull || k == n { forwardBlocks[i - 1].flush(into: &dW[i]) }
                        addColumnSums(d[i], weight, into: &db[i])
                    }
                }
            }
            if options.feedbackPlasticity {
                let w = trajectoryWeight(k, n, .integral)
                for i in 0..<L { Matrix.addProduct(transposed: u, vA[i], scale: -w, into: &dQt[i]) }
            }
            if traces != nil, k % options.traceStride == 0 || k == n {
                traces?.time.append(Double(k) * p.dt)
                for i in 0..<L {
                    traces?.soma[i].append(v[i])
                    traces?.basal[i].append(vB[i])
                    traces?.apical[i].append(vA[i])
                }
                traces?.u.append(u)
                traces?.error.append(e)
            }
            if k == n { break }

            // Euler–Maruyama step k → k+1.
            let gain = p.dt / p.tauV
            // From rest (u = 0 and v^A = 0 at the feedforward state, no somatic noise: the
            // feedback phase's first step) the step leaves v, r and v^B at the feedforward state
            // exactly; recomputing W_i r_{i−1} would only add rounding.
            let atRest = k == 0 && somaNoise == 0 && u.storage.allSatisfy { $0 == 0 }
                && vA.allSatisfy { $0.storage.allSatisfy { $0 == 0 } }
            if !atRest {
                switch p.transmission {
                case .delayed:
                    for i in 0..<L {
                        outsideCount += eulerSoma(&v[i], basal: vB[i], apical: vA[i], gain: gain, census: somaCensus, bound: bound)
                        if somaNoise > 0 { outsideCount += addNoise(&v[i], scale: somaNoise, lanes: &noise, bound: bound) }
                    }
                    for i in 0..<L {
                        net.phi(i, v[i], into: &r[i + 1])
                    }
                    for i in 1..<L { basal(i, r[i], into: &vB[i]) }
                case .instantaneous:
                    for i in 0..<L {
                        if i > 0 { basal(i, r[i], into: &vB[i]) }
                        outsideCount += eulerSoma(&v[i], basal: vB[i], apical: vA[i], gain: gain, census: somaCensus, bound: bound)
                        if somaNoise > 0 { outsideCount += addNoise(&v[i], scale: somaNoise, lanes: &noise, bound: bound) }
                        net.phi(i, v[i], into: &r[i + 1])
                    }
                }
            }
            if apicalLeaky {
                let aGain = p.dt / options.apicalTau
                for i in 0..<L {
                    Matrix.multiply(u, transposed: packedQ[i], into: &scratch[i])
                    if apicalNoise > 0 {
                        outsideCount += addNoise(&vA[i], scale: apicalNoise, lanes: &noise, drive: scratch[i], gain: aGain,
                                                 bound: bound)
                    } else {
                        outsideCount += eulerSoma(&vA[i], basal: scratch[i], apical: nil, gain: aGain, census: .result, bound: bound)
                    }
                }
            }
            controller.step(integral: &uInt, error: e, output: u, dt: p.dt)
        }

        if gatherForward {
            dW[0] = Matrix.product(firstLayerSum, .transposed, input, .none)
            db[0] = firstLayerSum.columnSums()
        }
        return DynamicsResult(soma: v, basal: vB, apical: vA, u: u, error: e, dW: dW, db: db, dQ: dQt.map(\.transposed),
                              traces: traces, diverged: diverged)
    }
}
