import DFC
import Foundation
import LinearAlgebra

/// What a mapped DFC circuit does beyond its realised weights, in model units, stage by stage:
/// the behavioral backend's description of the circuit (docs/behavioral-model.md derives each
/// term from the stage's schematic in `DFCCircuitMapper.map`).
///
/// Offsets come from the op-amps' input offsets and bias currents, drawn by instance name from
/// the device seed exactly as the netlist draws them (`OpAmpMacromodel.offset(of:)`); an offset
/// e_os at the + input of an inverting stage with noise gain 1 + R_F·G_in appears at its output
/// as e_os·(1 + R_F·G_in) + R_F·I_b. Lags are each closed-loop stage's first-order time constant
/// (1 + R_F·G_in)/(2π·GBW), in model time.
public struct CircuitBehavior: Sendable, Equatable {
    /// Per layer (index i−1), per neuron: the basal node's offset (added to v_i^B), the apical
    /// node's (added to v_i^A, including the −u lines' offsets through the G⁻ cells), and the
    /// soma integrator's (added to its drive −v + v^B + v^A).
    public var basalOffset: [[Double]]
    public var apicalOffset: [[Double]]
    public var somaOffset: [[Double]]
    /// Per layer, per neuron: the basal and apical TIAs' time constants, model time (0: none).
    public var basalLag: [[Double]]
    public var apicalLag: [[Double]]
    /// Per output: the difference stage's offset (e = r_L* − r_L + errorOffset), the integrator's
    /// (τ_u du_int/dt = e − α·leak + integratorOffset) and the summing stage's
    /// (u = u_int + k_p e + outputOffset).
    public var errorOffset: [Double]
    public var integratorOffset: [Double]
    public var outputOffset: [Double]
    /// The difference stage's and the summing stage's time constants, model time.
    public var errorLag: Double
    public var outputLag: Double
    /// The op-amps' output swing in model units (nil: unlimited).
    public var rail: Double?
    /// V₀/s of sinh cells in model units (0: linear cells): a line at value x drives each
    /// cell with the current of G·f(x), f(x) = (V₀/s)·sinh(s·x/V₀).
    public var lineNonlinearity: Double
    public var converters: Converters
    /// Relative rms of each cell's white and 1/f read noise, and the noise's sample spacing in model time.
    public var readNoiseWhite: Double
    public var readNoisePink: Double
    public var readNoiseStep: Double
    /// The enable ramp's rise time, model time.
    public var enableRise: Double

    /// Whether the circuit is its realised weights and nothing else (then the ideal ODEs on
    /// those weights are the whole behavioral model).
    public var isStatic: Bool {
        let zero = { (m: [[Double]]) in m.allSatisfy { $0.allSatisfy { $0 == 0 } } }
        return zero(basalOffset) && zero(apicalOffset) && zero(somaOffset) && zero(basalLag) && zero(apicalLag)
            && (errorOffset + integratorOffset + outputOffset).allSatisfy { $0 == 0 } && errorLag == 0 && outputLag == 0
            && lineNonlinearity == 0 && converters.isEmpty && readNoiseWhite == 0 && readNoisePink == 0
    }

    /// f(x) of the lines (the identity for linear cells).
    @inlinable
    public func line(_ x: Double) -> Double {
        guard lineNonlinearity > 0 else { return x }
        // Clamped as the netlist's cells are (±30: far beyond any operating point).
        return lineNonlinearity * Foundation.sinh(min(max(x / lineNonlinearity, -30), 30))
    }
}

extension DFCCircuitMapper {
    /// The behavior of the circuit `map` would write for `arrays` (a programming of this mapper).
    public func behavior(of arrays: ProgrammedNetwork) -> CircuitBehavior {
        let p = parameters, c = configuration
        let s = p.signalScale
        let model = p.opAmp
        // e_os at the + input: the macromodel's "Vos inp ip {vos}" puts ip at −vos.
        func os(_ name: String) -> Double {
            if case .macromodel(let m) = model { return -m.offset(of: name) }
            return 0
        }
        let ib: Double = { if case .macromodel(let m) = model { return m.biasCurrent }; return 0 }()
        let unityRadians: Double? = {
            switch model {
            case .ideal: return nil
            case .singlePole(_, let gbw, _): return 2 * Double.pi * gbw
            case .macromodel(let m): return 2 * Double.pi * m.gbw
            case .cmosTwoStage(let o): return 2 * Double.pi * o.estimatedGBW
            }
        }()
        func lag(_ noiseGain: Double) -> Double { unityRadians.map { noiseGain / $0 / p.timeScale } ?? 0 }

        let L = arrays.forward.count
        let nL = arrays.feedback.first?.gPlus.columns ?? 0
        let somaInputs = c.control.sigma > 0 ? 3.0 : 2.0
        let rs = p.stageResistance, re = p.integratorResistance
        let alpha = max(c.control.alpha, 1e-9)
        // The −u lines carry −s·u + m_k (the inverting stage's output offset), unless the write
        // DAC drives the Q crossbars from u alone.
        let minusLine = (0..<nL).map { k in 2 * os("C\(k)_uinv") + rs * ib }
        var b = CircuitBehavior(basalOffset: [], apicalOffset: [], somaOffset: [], basalLag: [], apicalLag: [],
                                errorOffset: [], integratorOffset: [], outputOffset: [], errorLag: lag(2),
                                outputLag: lag(2 + c.control.kp), rail: model.outputLimit.map { $0 / s },
                                lineNonlinearity: p.device.nonlinearityVoltage / s, converters: p.converters,
                                readNoiseWhite: p.device.readNoise, readNoisePink: p.device.readNoise1f,
                                readNoiseStep: transientStep / p.timeScale, enableRise: p.enableRise * c.control.tauV)
        for i in 0..<L {
            let layer = i + 1
            let w = arrays.forward[i], q = arrays.feedback[i]
            let n = w.gPlus.rows
            var basal = [Double](repeating: 0, count: n), apical = basal, soma = basal, bLag = basal, aLag = basal
            for j in 0..<n {
                let gw = (0..<w.gPlus.columns).reduce(0.0) { $0 + w.gPlus[j, $1] + w.gMinus[j, $1] }
                let gq = (0..<q.gPlus.columns).reduce(0.0) { $0 + q.gPlus[j, $1] + q.gMinus[j, $1] }
                let rfW = trimmed(1 / w.gUnit, inputConductance: gw), rfQ = trimmed(1 / q.gUnit, inputConductance: gq)
                let tag = "L\(layer)_N\(j)_"
                // The TIAs' outputs are −s·v^B and −s·v^A.
                basal[j] = -(os(tag + "basalTIA") * (1 + rfW * gw) + rfW * ib) / s
                apical[j] = -(os(tag + "apicalTIA") * (1 + rfQ * gq) + rfQ * ib) / s
                if p.converters.write == nil {
                    for k in 0..<nL { apical[j] += rfQ * q.gMinus[j, k] * minusLine[k] / s }
                }
                soma[j] = (os(tag + "somaIntegrator") * (somaInputs + 1) + p.somaResistance * ib) / s
                bLag[j] = lag(1 + rfW * gw)
                aLag[j] = lag(1 + rfQ * gq)
            }
            b.basalOffset.append(basal)
            b.apicalOffset.append(apical)
            b.somaOffset.append(soma)
            b.basalLag.append(bLag)
            b.apicalLag.append(aLag)
        }
        for k in 0..<nL {
            let tag = "C\(k)_"
            b.errorOffset.append(2 * os(tag + "diff") / s)
            var integrator = -(os(tag + "integrator") * (1 + alpha) + re * ib) / s
            // Leaking the total u reads the −u line, offset included.
            if c.conventions.leak == .total { integrator += alpha * minusLine[k] / s }
            b.integratorOffset.append(integrator)
            let kp = c.control.kp
            let einv = kp > 0 ? -kp * (2 * os(tag + "einv") + rs * ib) : 0
            b.outputOffset.append((einv + os(tag + "sum") * (2 + kp) + rs * ib) / s)
        }
        return b
    }
}
