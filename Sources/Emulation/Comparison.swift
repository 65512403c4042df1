import DFC
import LinearAlgebra

/// How closely one run follows another, signal by signal.
public struct SignalAgreement: Sendable, Codable, Equatable {
    public var signal: String
    /// RMS over time (trapezoid-weighted on the grid, so the simulator's step refinement
    /// near events does not weigh more) and neurons, and the largest |a − b|, both divided
    /// by the reference's range.
    public var rmsOverRange: Double
    public var maxOverRange: Double
    /// ‖a(T) − b(T)‖ / ‖b(T)‖ at the last common time.
    public var finalRelative: Double
    public var range: Double
    /// When (model time) the largest difference occurs; nil in reports written before it was kept.
    public var timeOfMax: Double? = nil
}

/// The comparison of a circuit run with the ideal run of the same model, input and target.
public struct Comparison: Sendable, Codable {
    public var signals: [SignalAgreement]
    /// Angle between the ΔW_i (with b_i) each run prescribes, per layer, degrees.
    public var updateAngles: [Double]
    /// Convergence verdicts of the reference and the candidate.
    public var referenceStatus: String
    public var candidateStatus: String
    public var referenceName: String
    public var candidateName: String
    /// The time both runs cover (model units) and the number of grid points used.
    public var span: Double
    public var points: Int

    public func agreement(_ name: String) -> SignalAgreement? { signals.first { $0.signal == name } }
    public var worstRMS: Double { signals.map(\.rmsOverRange).max() ?? 0 }
}

/// Linear interpolation of the rows of `m` (sampled at `t`) at the times `at`.
public func interpolate(_ m: Matrix, at t: [Double], onto grid: [Double]) -> Matrix {
    var out = Matrix(rows: grid.count, columns: m.columns)
    var k = 0
    for (g, x) in grid.enumerated() {
        while k + 1 < t.count - 1 && t[k + 1] < x { k += 1 }
        let t0 = t[k], t1 = t[min(k + 1, t.count - 1)]
        let w = t1 > t0 ? min(1, max(0, (x - t0) / (t1 - t0))) : 0
        for j in 0..<m.columns {
            out[g, j] = (1 - w) * m[k, j] + w * m[min(k + 1, t.count - 1), j]
        }
    }
    return out
}

extension Comparison {
    /// Compares `candidate` (e.g. the circuit) with `reference` (the ideal run) on the
    /// candidate's grid, clipped to the time both cover.
    /// `curves` (layer → measured φ) replaces the equation in both runs' plasticity.
    public static func compare(reference: SampleRun, candidate: SampleRun, activations: [Activation],
                               curves: [Int: TransferCurve] = [:], controller: PIController, tolerance: Double,
                               referenceName: String, candidateName: String) -> Comparison {
        let end = min(reference.time.last ?? 0, candidate.time.last ?? 0)
        let grid = candidate.time.filter { $0 <= end + 1e-12 }
        let timeWeights = trapezoidWeights(grid)
        func agreement(_ name: String, _ ref: Matrix, _ cand: Matrix) -> SignalAgreement {
            let r = interpolate(ref, at: reference.time, onto: grid)
            let c = cand.rows(0..<grid.count)
            let range = max(r.storage.max() ?? 0, 0) - min(r.storage.min() ?? 0, 0)
            let scale = max(range, 1e-12)
            let diff = c - r
            var meanSquare = 0.0
            for k in 0..<grid.count {
                var rowSum = 0.0
                for j in 0..<diff.columns { rowSum += diff[k, j] * diff[k, j] }
                meanSquare += timeWeights[k] * rowSum / Double(max(1, diff.columns))
            }
            let rms = meanSquare.squareRoot()
            let lastRef = r.row(grid.count - 1), lastDiff = diff.row(grid.count - 1)
            let norm = lastRef.reduce(0) { $0 + $1 * $1 }.squareRoot()
            var largest = 0.0, at = grid.first ?? 0
            for k in 0..<grid.count {
                for j in 0..<diff.columns where abs(diff[k, j]) > largest { largest = abs(diff[k, j]); at = grid[k] }
            }
            return SignalAgreement(signal: name, rmsOverRange: rms / scale, maxOverRange: diff.maxAbs / scale,
                                   finalRelative: lastDiff.reduce(0) { $0 + $1 * $1 }.squareRoot() / max(norm, 1e-300),
                                   range: range, timeOfMax: at)
        }
        var signals: [SignalAgreement] = []
        for i in 0..<reference.soma.count {
            signals.append(agreement("v\(i + 1)", reference.soma[i], candidate.soma[i]))
            signals.append(agreement("vB\(i + 1)", reference.basal[i], candidate.basal[i]))
            signals.append(agreement("vA\(i + 1)", reference.apical[i], candidate.apical[i]))
        }
        signals.append(agreement("u", reference.u, candidate.u))
        signals.append(agreement("e", reference.error, candidate.error))
        let a = TracePlasticity.update(reference, activations: activations, curves: curves)
        let b = TracePlasticity.update(candidate, activations: activations, curves: curves)
        let angles = (0..<a.dW.count).map { angleDegrees(a.dW[$0].storage + a.db[$0], b.dW[$0].storage + b.db[$0]) }
        return Comparison(signals: signals, updateAngles: angles,
                          referenceStatus: verdict(reference, controller, tolerance).rawValue,
                          candidateStatus: verdict(candidate, controller, tolerance).rawValue,
                          referenceName: referenceName, candidateName: candidateName,
                          span: end, points: grid.count)
    }

    /// The verdict `Solver` gives an ideal run, on this run's end state
    /// (δ_L is the error at t = 0, where u_int = 0).
    public static func verdict(_ run: SampleRun, _ controller: PIController, _ tolerance: Double) -> SampleStatus {
        SampleStatus.judge(error: run.error.row(run.steps - 1), u: run.u.row(run.steps - 1), delta: run.error.row(0),
                           effectiveLeak: controller.effectiveLeak, tolerance: tolerance)
    }
}
