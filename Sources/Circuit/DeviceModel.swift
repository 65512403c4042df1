import Foundation
import LinearAlgebra

/// What a programmable conductance can do: its range, its levels, how precisely it is
/// programmed, and which devices are broken.
public struct DeviceModel: Sendable, Equatable {
    /// Lowest and highest conductance, siemens.
    public var gMin: Double = 1e-7
    public var gMax: Double = 1e-4
    /// Programmable levels between gMin and gMax inclusive; 0 = continuous.
    public var levels: Int = 0
    /// Relative standard deviation of a programmed conductance (multiplicative Gaussian).
    public var programmingNoise: Double = 0
    /// Fractions of devices stuck at gMax (on) and at gMin (off).
    public var stuckOnFraction: Double = 0
    public var stuckOffFraction: Double = 0
    /// Largest |w| the array maps to gMax − gMin; nil: the largest |w| of each crossbar.
    public var wMax: Double?
    /// Conductance drift (phase-change memory): read `driftTime` seconds after programming,
    /// each device's conductance is G·(t/t_c)^(−ν), t_c = `driftReferenceTime`, with ν drawn
    /// once per device from N(`driftNu`, `driftNuSpread`²), clipped at 0. t ≤ t_c: no drift.
    /// IBM's PCM model (aihwkit `PCMLikeNoiseModel`, Joshi et al. 2020) measures mean ν of
    /// 0.049–0.1 and spreads of 0.008–0.045 by state, t_c = 20 s.
    public var driftTime: Double = 0
    public var driftReferenceTime: Double = 20
    public var driftNu: Double = 0
    public var driftNuSpread: Double = 0
    /// Programming noise that depends on the state (cycle to cycle, fresh at each programming):
    /// σ(G) = gMax·Σᵢ cᵢ (G/gMax)ⁱ siemens, added to the relative part with the same draw.
    public var programmingNoisePolynomial: [Double] = []
    /// Device-to-device variation: each device's conductance is scaled by 1 + δ, δ ~ N(0, σ²)
    /// drawn once per device (it stays at every reprogramming), clipped at 0.
    public var deviceVariation: Double = 0
    /// Read noise: relative rms of white and of 1/f fluctuation of a conductance while it is read.
    public var readNoise: Double = 0
    public var readNoise1f: Double = 0
    /// V₀ of the I–V nonlinearity I = G·V₀·sinh(V/V₀), volts; 0: linear.
    public var nonlinearityVoltage: Double = 0
    /// The preset these values started from, if any (for headers and reports).
    public var preset: String?

    public init() {}

    /// The conductance step between levels (0 when continuous).
    public var levelStep: Double { levels >= 2 ? (gMax - gMin) / Double(levels - 1) : 0 }

    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> InvalidElementError {
            InvalidElementError(element: "circuit.device.\(field)", reason: reason)
        }
        guard gMin.isFinite, gMin >= 0 else { throw fail("gMin", "must be finite and ≥ 0, got \(gMin)") }
        guard gMax.isFinite, gMax > gMin else { throw fail("gMax", "must be finite and > gMin, got \(gMax)") }
        guard levels == 0 || levels >= 2 else { throw fail("levels", "must be 0 (continuous) or ≥ 2, got \(levels)") }
        guard programmingNoise.isFinite, programmingNoise >= 0 else { throw fail("programmingNoise", "must be ≥ 0") }
        guard stuckOnFraction >= 0, stuckOffFraction >= 0, stuckOnFraction + stuckOffFraction <= 1 else {
            throw fail("stuckOnFraction", "fractions must be ≥ 0 and sum to at most 1")
        }
        if let w = wMax, !(w.isFinite && w > 0) { throw fail("wMax", "must be positive and finite, got \(w)") }
        for (key, v) in [("driftTime", driftTime), ("driftNu", driftNu), ("driftNuSpread", driftNuSpread)] where !(v.isFinite && v >= 0) {
            throw fail(key, "must be finite and ≥ 0, got \(v)")
        }
        for (key, v) in [("deviceVariation", deviceVariation), ("readNoise", readNoise), ("readNoise1f", readNoise1f),
                         ("nonlinearityVoltage", nonlinearityVoltage)] where !(v.isFinite && v >= 0) {
            throw fail(key, "must be finite and ≥ 0, got \(v)")
        }
        guard programmingNoisePolynomial.count <= 8, programmingNoisePolynomial.allSatisfy(\.isFinite) else {
            throw fail("programmingNoisePolynomial", "must be at most 8 finite coefficients")
        }
        guard driftReferenceTime.isFinite, driftReferenceTime > 0 else { throw fail("driftReferenceTime", "must be positive and finite, got \(driftReferenceTime)") }
    }

    /// Whether reading at `driftTime` changes any conductance.
    public var drifts: Bool { driftTime > driftReferenceTime && (driftNu > 0 || driftNuSpread > 0) }
}

/// The result of programming a weight matrix onto a crossbar.
public struct ProgrammedArray: Sendable {
    public var gPlus: Matrix
    public var gMinus: Matrix
    /// G_unit = (gMax − gMin)/w_max, siemens per unit weight.
    public var gUnit: Double
    /// The weights the devices actually realise: (G⁺ − G⁻)/G_unit.
    public var realised: Matrix
    /// How many requested |w| exceeded w_max and were clipped.
    public var clipped: Int
    public var stuckDevices: Int
    /// With resistive wires: the last exact IR-drop solve this array's map follows
    /// (`ProgrammedArray+IRDrop.swift`); nil without wires or when the solve failed.
    public var irDropAnchor: IRDropAnchor? = nil
    /// Whether `realised` comes from an exact solve of these conductances (true without wires).
    public var irDropIsExact = true
}

extension DeviceModel {
    /// Maps weights to conductance pairs: the sign's device gets gMin + |w|·G_unit
    /// (quantized to the nearest level, then perturbed by programming noise), the other
    /// stays at gMin; stuck devices ignore what was asked. Which devices are stuck comes
    /// from `faults` and must be the same stream every time an array is reprogrammed
    /// (stuck cells stay stuck); programming noise comes from `noise`, fresh per cycle.
    public func program(_ weights: Matrix, faults: inout SeededGenerator, noise: inout SeededGenerator) -> ProgrammedArray {
        // ν is a property of each device: drawn from the faults stream (the same at every
        // reprogramming), in a stream of its own so that turning drift on moves no other draw.
        var driftStream = faults.derived(0xD71F7)
        let largest = weights.maxAbs
        let wmax = wMax ?? (largest > 0 ? largest : 1)
        let gUnit = (gMax - gMin) / wmax
        var gp = Matrix(rows: weights.rows, columns: weights.columns, repeating: gMin)
        var gn = gp
        var clipped = 0, stuck = 0
        let step = levelStep
        // One normal per device, drawn in bulk: element k's active device takes draw 2k and
        // its idle partner draw 2k + 1 (the order of one nextNormal() per device).
        // With a state-dependent part the draws are unit normals, G = G_t + (σ_rel·G_t + σ(G_t))·z;
        // without, the relative draws of earlier versions, G = G_t·(1 + σ_rel·z), bit for bit.
        let polynomial = programmingNoisePolynomial.contains { $0 != 0 } ? programmingNoisePolynomial : []
        let noisy = programmingNoise > 0 || !polynomial.isEmpty
        var draws = [Double](repeating: 0, count: noisy ? 2 * weights.count : 0)
        if noisy { noise.fillNormal(&draws, scale: polynomial.isEmpty ? programmingNoise : 1) }
        let lo = gMin, hi = gMax
        let relative = programmingNoise
        @inline(__always) func programmed(_ target: Double, _ draw: Double) -> Double {
            var x = target
            if step > 0 { x = lo + ((x - lo) / step).rounded() * step }
            if polynomial.isEmpty {
                x *= 1 + draw
            } else {
                let u = x / hi
                var sigma = 0.0, power = 1.0
                for c in polynomial { sigma += c * power; power *= u }
                x += (relative * x + max(0, sigma) * hi) * draw
            }
            return min(hi, max(lo, x))
        }
        weights.storage.withUnsafeBufferPointer { w in
            gp.storage.withUnsafeMutableBufferPointer { plus in
                gn.storage.withUnsafeMutableBufferPointer { minus in
                    draws.withUnsafeBufferPointer { d in
                        for k in 0..<w.count {
                            var x = w[k]
                            if abs(x) > wmax { clipped += 1; x = x > 0 ? wmax : -wmax }
                            let active = programmed(lo + abs(x) * gUnit, noisy ? d[2 * k] : 0)
                            let idle = programmed(lo, noisy ? d[2 * k + 1] : 0)
                            if x >= 0 { plus[k] = active; minus[k] = idle } else { minus[k] = active; plus[k] = idle }
                        }
                    }
                }
            }
        }
        if stuckOnFraction > 0 || stuckOffFraction > 0 {
            for k in 0..<(2 * weights.count) {
                let u = faults.nextOpenUnit()
                let value: Double? = u < stuckOnFraction ? gMax : (u < stuckOnFraction + stuckOffFraction ? gMin : nil)
                guard let value else { continue }
                stuck += 1
                if k < weights.count { gp.storage[k] = value } else { gn.storage[k - weights.count] = value }
            }
        }
        if deviceVariation > 0 {
            var variation = faults.derived(0xD2D)
            var delta = [Double](repeating: 0, count: 2 * weights.count)
            variation.fillNormal(&delta, scale: deviceVariation)
            for k in 0..<weights.count {
                gp.storage[k] = max(0, gp.storage[k] * (1 + delta[k]))
                gn.storage[k] = max(0, gn.storage[k] * (1 + delta[weights.count + k]))
            }
        }
        if drifts {
            let logRatio = Foundation.log(driftTime / driftReferenceTime)
            var nu = [Double](repeating: 0, count: 2 * weights.count)
            driftStream.fillNormal(&nu, scale: driftNuSpread)
            for k in 0..<weights.count {
                gp.storage[k] *= Foundation.exp(-max(0, driftNu + nu[k]) * logRatio)
                gn.storage[k] *= Foundation.exp(-max(0, driftNu + nu[weights.count + k]) * logRatio)
            }
        }
        let realised = (gp - gn) / gUnit
        return ProgrammedArray(gPlus: gp, gMinus: gn, gUnit: gUnit, realised: realised, clipped: clipped, stuckDevices: stuck)
    }

    /// One stream for both (tests and one-off programming).
    public func program(_ weights: Matrix, using generator: inout SeededGenerator) -> ProgrammedArray {
        var faults = generator.derived(1)
        var noise = generator.derived(2)
        _ = generator.next()
        return program(weights, faults: &faults, noise: &noise)
    }
}
