import Circuit
import LinearAlgebra

/// The read noise of a set of crossbar rows as one process per row (its `batch` rows: 1 where the
/// samples of a batch share one realisation, as they share the netlist's).
///
/// Each cell's conductance is G·(1 + n(t)) with n white plus 1/f (`CellPhysics`), sampled every
/// `step` and linear in between (the netlist's PWL sources). A row's current noise
/// Σ_c G_c x_c n_c(t) is a sum of independent processes of one law, so it is that law scaled by
/// √(Σ_c G_c² x_c²): one process per row stands for the row's cells in distribution (not in
/// realisation: the netlist's per-cell draws are too many to follow at scale).
struct RowReadNoise {
    let white: Double
    let step: Double
    let decay: [Double], innovation: [Double]
    var lanes: NormalLanes
    /// n at the sample before and after the current time, and the 1/f octaves' states.
    var previous: Matrix, next: Matrix
    var octaves: [Matrix]
    var sample = 0

    init(batch: Int, rows: Int, white: Double, pink: Double, step: Double, stop: Double, seed: UInt64) {
        let count = Int((stop / step).rounded(.up)) + 1
        let pinkCoefficients = CellPhysics.pinkOctaves(samples: count, rms: pink)
        self.white = white
        self.step = step
        decay = pinkCoefficients.decay
        innovation = pinkCoefficients.innovation
        lanes = NormalLanes(generator: SeededGenerator(seed: seed))
        previous = Matrix(rows: batch, columns: rows)
        next = previous
        octaves = decay.map { _ in Matrix(rows: batch, columns: rows) }
        for k in octaves.indices { lanes.fill(&octaves[k].storage, scale: pinkCoefficients.perOctave) }
        // The first sample is 0, as in the netlist: the operating point sees the cells' own G.
        advance()
    }

    /// Draws the sample after `next`.
    private mutating func advance() {
        previous = next
        var n = Matrix(rows: next.rows, columns: next.columns)
        if white > 0 { lanes.fill(&n.storage, scale: white) }
        var fresh = Matrix(rows: n.rows, columns: n.columns)
        for k in octaves.indices {
            lanes.fill(&fresh.storage, scale: innovation[k])
            for e in fresh.storage.indices {
                octaves[k].storage[e] = decay[k] * octaves[k].storage[e] + fresh.storage[e]
            }
            n += octaves[k]
        }
        next = n
        sample += 1
    }

    /// n(t) per row, linear between samples.
    mutating func value(at t: Double) -> Matrix {
        while t > Double(sample) * step { advance() }
        let f = max(0, min(1, (t - Double(sample - 1) * step) / step))
        return previous.zipMap(next) { $0 + f * ($1 - $0) }
    }
}

extension CircuitDynamics {
    /// The read noise added to a row set with drive lines `x` (batch × lines): √(S·(x∘x)) ∘ n.
    func readNoise(_ process: inout RowReadNoise, weights s: Matrix, lines x: Matrix, bias: Bool, at t: Double) -> Matrix {
        readNoise(&process, scale: noiseScale(weights: s, lines: x, bias: bias), at: t)
    }

    /// √(S·(x∘x)) per row: the rms the row's cells give together.
    func noiseScale(weights s: Matrix, lines x: Matrix, bias: Bool) -> Matrix {
        var x2 = x.map { $0 * $0 }
        if bias {
            let one = behavior.line(1)
            x2 = Matrix.hstack([x2, Matrix(rows: x.rows, columns: 1, repeating: one * one)])
        }
        return Matrix.product(x2, .none, s, .transposed).map { $0.squareRoot() }
    }

    /// The process has one row (shared by the batch's samples, as every sample of a programming
    /// sees the netlist's one realisation); each sample scales it by its own lines.
    func readNoise(_ process: inout RowReadNoise, scale: Matrix, at t: Double) -> Matrix {
        let n = process.value(at: t).storage
        var out = scale
        let m = n.count
        for k in out.storage.indices { out.storage[k] *= n[k % m] }
        return out
    }

    /// The noise current of every cell at t, through the same lines as the signal.
    func cellReadNoise(_ noise: CellReadNoise, lines x: Matrix, bias: Bool, at t: Double) -> Matrix {
        let drive = bias ? Matrix.hstack([x, Matrix(rows: x.rows, columns: 1, repeating: behavior.line(1))]) : x
        return Matrix.product(drive, .none, noise.weights(at: t), .transposed)
    }
}

/// The read noise of one array cell by cell, the very realisation the netlist holds: each
/// device's n(t) from `CellPhysics.noiseSamples` with the netlist's seed, so a behavioral run
/// and the SPICE run of the same programming see the same noise. The SPICE backend writes its
/// netlist once per programming, so every sample of that programming sees it too.
struct CellReadNoise: Sendable {
    /// G⁺/G_unit and G⁻/G_unit, rows × lines.
    let plus: Matrix, minus: Matrix
    /// n(t) of each device at the samples, [sample][row·lines + line], for the + and − cells.
    let samplesPlus: [[Double]], samplesMinus: [[Double]]
    let step: Double

    /// Values held: cells × samples of every array together at most this (32 MB of doubles);
    /// larger networks use `RowReadNoise`.
    static let budget = 4_000_000

    init(array: ProgrammedArray, physics: CellPhysics, timeScale: Double) {
        plus = array.gPlus / array.gUnit
        minus = array.gMinus / array.gUnit
        step = physics.step / timeScale
        let m = plus.rows, n = plus.columns
        let count = Int((physics.stop / physics.step).rounded(.up)) + 1
        var sp = [[Double]](repeating: [Double](repeating: 0, count: m * n), count: count), sm = sp
        for r in 0..<m {
            for c in 0..<n {
                for side in [true, false] where (side ? array.gPlus[r, c] : array.gMinus[r, c]) > 0 {
                    let device = (UInt64(r) << 32) | (UInt64(c) << 1) | (side ? 0 : 1)
                    for (k, sample) in physics.noiseSamples(device: device).enumerated() {
                        if side { sp[k][r * n + c] = sample.value } else { sm[k][r * n + c] = sample.value }
                    }
                }
            }
        }
        samplesPlus = sp
        samplesMinus = sm
    }

    /// (G⁺∘n⁺(t) − G⁻∘n⁻(t))/G_unit: the lines' weights of the noise current, linear between samples.
    func weights(at t: Double) -> Matrix {
        let x = max(0, t / step)
        let k = min(Int(x), samplesPlus.count - 1), k1 = min(k + 1, samplesPlus.count - 1)
        let f = min(1, x - Double(k))
        var out = Matrix(rows: plus.rows, columns: plus.columns)
        for e in out.storage.indices {
            let np = samplesPlus[k][e] + f * (samplesPlus[k1][e] - samplesPlus[k][e])
            let nm = samplesMinus[k][e] + f * (samplesMinus[k1][e] - samplesMinus[k][e])
            out.storage[e] = plus.storage[e] * np - minus.storage[e] * nm
        }
        return out
    }
}

/// The read noise of one DC read (a feedforward pass as `evaluate` and the test error see it).
///
/// A read sees each cell's conductance once, G·(1 + n), n ~ N(0, σ²) with σ² = white² + 1/f²: the
/// read-to-read rms the device presets quote (PCM's 1/f noise accumulated over a 250 µs read,
/// ReRAM's 1 % short-term read noise), as aihwkit draws read noise once per forward pass. Row j's
/// noise Σ_c (G⁺_jc n⁺_jc − G⁻_jc n⁻_jc) x_c has the law of σ·√(Σ_c S_jc x_c²)·z_j (`noiseScale`);
/// z is drawn per sample from the seed and the sample's input, so a sample reads alike in any batch.
/// The dynamics (`run`) draw their own processes; `dfc-ssa`'s steady state leaves read noise out.
struct DCRead {
    let sigma: Double
    /// The first layer's lines f(DAC(x)).
    let inputLines: Matrix
    /// Per layer, batch × n_i unit normals.
    let z: [Matrix]

    init(sigma: Double, inputs: Matrix, inputLines: Matrix, sizes: [Int], seed: UInt64) {
        self.sigma = sigma
        self.inputLines = inputLines
        var z = sizes.map { Matrix(rows: inputs.rows, columns: $0) }
        let root = SeededGenerator(seed: seed).derived(0xDC_4EAD)
        for s in 0..<inputs.rows {
            var g = root.derived(Matrix(row: inputs.row(s)).fingerprint)
            for i in z.indices {
                var draws = [Double](repeating: 0, count: sizes[i])
                g.fillNormal(&draws)
                for (k, d) in draws.enumerated() { z[i][s, k] = d }
            }
        }
        self.z = z
    }

    func noise(layer i: Int, lines x: Matrix, dynamics: CircuitDynamics) -> Matrix {
        var out = dynamics.noiseScale(weights: dynamics.readScale[i], lines: x, bias: true)
        for k in out.storage.indices { out.storage[k] *= sigma * z[i].storage[k] }
        return out
    }
}

extension CircuitDynamics {
    /// The gated-off DC point as one read sees it (`DCRead`); without read noise, `feedforward(_:)`.
    func feedforward(_ input: Matrix, readSeed: UInt64) -> State {
        let sigma = DeviceModel.oneReadSigma(white: behavior.readNoiseWhite, pink: behavior.readNoisePink)
        guard sigma > 0, !readScale.isEmpty else { return feedforward(input) }
        let inputLines = lines(quantized(input, behavior.converters.input))
        let read = DCRead(sigma: sigma, inputs: input, inputLines: inputLines, sizes: network.weights.map(\.rows), seed: readSeed)
        return feedforward(firstBasal: basalDrive(0, inputLines), read: read)
    }
}
