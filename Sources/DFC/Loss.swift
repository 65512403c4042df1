import LinearAlgebra
#if canImport(Glibc)
import Glibc
#endif

/// The task loss on the network output r_L.
///
/// - `mse`: L = ‖r_L − y‖² (the paper's L² loss, no ½, so that
///   r_L* = (1 − 2λ) r_L⁻ + 2λ y as in Eq. 3).
/// - `crossEntropy`: L = −Σ_k y_k log softmax(r_L)_k on the linear output; y is
///   one-hot (or a distribution).
public enum Loss: String, Sendable, Codable, CaseIterable {
    case mse
    case crossEntropy = "cross-entropy"
}

/// How per-sample losses are combined over a batch: where the paper's text and the
/// published code differ (DESIGN.md §1).
public enum LossReduction: String, Sendable, Codable, CaseIterable {
    /// The paper: every sample carries its own loss, L = Σ_samples ℓ.
    case sum
    /// The published code: mean over the batch (and for MSE over outputs too),
    /// so the per-sample nudge λ·∂L/∂r_L shrinks with batch size.
    case mean
}

extension Loss {
    /// Per-sample losses ℓ(r_L, y) for a batch (rows are samples), before reduction.
    public func perSample(_ output: Matrix, _ labels: Matrix) -> [Double] {
        precondition(output.rows == labels.rows && output.columns == labels.columns)
        return (0..<output.rows).map { i in
            let r = output.row(i), y = labels.row(i)
            switch self {
            case .mse:
                return zip(r, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            case .crossEntropy:
                let lse = Self.logSumExp(r)
                return zip(r, y).reduce(0) { $0 - $1.1 * ($1.0 - lse) }
            }
        }
    }

    /// The reduced batch loss.
    public func value(_ output: Matrix, _ labels: Matrix, reduction: LossReduction) -> Double {
        let per = perSample(output, labels)
        let total = per.reduce(0, +)
        switch reduction {
        case .sum: return total
        case .mean: return self == .mse ? total / Double(max(1, output.count)) : total / Double(max(1, output.rows))
        }
    }

    /// ∂L/∂r_L for every sample of the batch, with the reduction's scaling.
    public func gradient(_ output: Matrix, _ labels: Matrix, reduction: LossReduction) -> Matrix {
        precondition(output.rows == labels.rows && output.columns == labels.columns)
        var g = Matrix(rows: output.rows, columns: output.columns)
        for i in 0..<output.rows {
            let r = output.row(i)
            switch self {
            case .mse:
                for j in 0..<output.columns { g[i, j] = 2 * (r[j] - labels[i, j]) }
            case .crossEntropy:
                let lse = Self.logSumExp(r)
                let ysum = labels.row(i).reduce(0, +)
                for j in 0..<output.columns { g[i, j] = ysum * exp(r[j] - lse) - labels[i, j] }
            }
        }
        switch reduction {
        case .sum: return g
        case .mean:
            let scale = self == .mse ? 1 / Double(max(1, output.count)) : 1 / Double(max(1, output.rows))
            return g * scale
        }
    }

    static func logSumExp(_ x: [Double]) -> Double {
        let m = x.max() ?? 0
        return m + log(x.reduce(0) { $0 + exp($1 - m) })
    }
}
