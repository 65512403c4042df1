import DFC
import Foundation
import LinearAlgebra
import NumPyFormat

/// Models on disk: `.npz` with float64 arrays `W1…WL` (n_i × n_{i−1}), `b1…bL` (n_i),
/// `Q1…QL` (n_i × n_L) and, optionally, FA's `B2…BL` (n_{i−1} × n_i) and a scalar `seed`.
/// NumPy reads and writes the same files (`np.savez` / `np.load`).
public enum ModelFile {
    /// Reads a model and checks it against the config's layer sizes, naming the first
    /// array whose shape disagrees.
    public static func read(path: String, configuration: Configuration) throws -> Network {
        let net = try read(path: path, activations: configuration.activations)
        let sizes = configuration.sizes
        for i in 0..<net.depth where net.weights[i].rows != sizes[i + 1] || net.weights[i].columns != sizes[i] {
            throw InputError(file: path, field: "W\(i + 1)",
                             "shape \(net.weights[i].rows)×\(net.weights[i].columns), but the config's network.sizes \(sizes) need \(sizes[i + 1])×\(sizes[i])")
        }
        return net
    }

    public static func read(path: String, activations: [Activation]) throws -> Network {
        let npz: NPZ
        do { npz = try NPZ(contentsOf: URL(fileURLWithPath: path)) } catch let e as NumPyFormatError {
            throw InputError(file: path, e.message)
        }
        let L = activations.count
        func matrix(_ name: String) throws -> Matrix {
            guard let a = npz[name] else { throw InputError(file: path, field: name, "missing array (a model needs W1…W\(L), b1…b\(L), Q1…Q\(L))") }
            guard a.shape.count == 2, let m = a.matrix else {
                throw InputError(file: path, field: name, "expected a 2-D array, found shape \(a.shapeDescription)")
            }
            return m
        }
        func vector(_ name: String) throws -> [Double] {
            guard let a = npz[name] else { throw InputError(file: path, field: name, "missing array (a model needs W1…W\(L), b1…b\(L), Q1…Q\(L))") }
            guard a.shape.count == 1 else {
                throw InputError(file: path, field: name, "expected a 1-D array, found shape \(a.shapeDescription)")
            }
            return a.data
        }
        let layerNames = Set((1...max(1, L)).flatMap { ["W\($0)", "b\($0)", "Q\($0)"] })
        for name in npz.arrays.keys.sorted() {
            if name.hasPrefix("W") || name.hasPrefix("Q") || name.hasPrefix("b"), !layerNames.contains(name), Int(name.dropFirst()) != nil {
                throw InputError(file: path, field: name, "the config has \(L) layers, but the model has an array for layer \(name.dropFirst())")
            }
        }
        let weights = try (1...L).map { try matrix("W\($0)") }
        let biases = try (1...L).map { try vector("b\($0)") }
        let feedback = try (1...L).map { try matrix("Q\($0)") }
        let fa = L >= 2 && npz["B2"] != nil ? try (2...L).map { try matrix("B\($0)") } : []
        do {
            return try Network(weights: weights, biases: biases, feedback: feedback, feedbackAlignment: fa,
                               activations: activations)
        } catch let e as ModelError {
            throw InputError(file: path, e.message)
        }
    }

    public static func arrays(of network: Network) -> [String: NDArray] {
        var a: [String: NDArray] = [:]
        for i in 0..<network.depth {
            a["W\(i + 1)"] = NDArray(network.weights[i])
            a["b\(i + 1)"] = NDArray(vector: network.biases[i])
            a["Q\(i + 1)"] = NDArray(network.feedback[i])
        }
        for (k, b) in network.feedbackAlignment.enumerated() { a["B\(k + 2)"] = NDArray(b) }
        return a
    }

    public static func write(_ network: Network, seed: UInt64, to path: String) throws {
        var npz = NPZ(arrays(of: network))
        npz["seed"] = NDArray(integer: Int64(clamping: seed))
        do { try npz.write(to: URL(fileURLWithPath: path)) } catch let e as NumPyFormatError {
            throw InputError(file: path, e.message)
        }
    }
}

/// Batches on disk: `.npy` arrays with one sample per row.
public enum BatchFile {
    /// Reads inputs (batch × n_0, or a single sample as a 1-D array of n_0).
    public static func inputs(path: String, features: Int) throws -> Matrix {
        let a = try load(path)
        switch a.shape.count {
        case 2:
            guard a.shape[1] == features else {
                throw InputError(file: path, "shape \(a.shapeDescription): the network expects \(features) features per sample (batch × \(features))")
            }
        case 1:
            guard a.shape[0] == features else {
                throw InputError(file: path, "shape \(a.shapeDescription): the network expects \(features) features")
            }
        default:
            throw InputError(file: path, "expected a 2-D array (batch × \(features)), found shape \(a.shapeDescription)")
        }
        guard a.shape.reduce(1, *) > 0 else { throw InputError(file: path, "the array is empty") }
        guard a.data.allSatisfy(\.isFinite) else { throw InputError(file: path, "contains NaN or Inf") }
        return Matrix(rows: a.data.count / features, columns: features, storage: a.data)!
    }

    /// Reads labels: batch × n_L targets, or a 1-D array of class indices (one-hot
    /// encoded for n_L classes), or a 1-D array of targets when n_L = 1.
    public static func labels(path: String, outputs: Int, batch: Int) throws -> Matrix {
        let a = try load(path)
        guard a.data.allSatisfy(\.isFinite) else { throw InputError(file: path, "contains NaN or Inf") }
        if a.shape.count == 2 {
            guard a.shape[0] == batch, a.shape[1] == outputs else {
                throw InputError(file: path, "shape \(a.shapeDescription): expected (\(batch), \(outputs)) to match the input batch and the network outputs")
            }
            return a.matrix!
        }
        guard a.shape.count == 1, a.shape[0] == batch else {
            throw InputError(file: path, "shape \(a.shapeDescription): expected (\(batch), \(outputs)) or class indices of shape (\(batch),)")
        }
        if outputs == 1 { return Matrix(column: a.data) }
        var onehot = Matrix(rows: batch, columns: outputs)
        for (s, x) in a.data.enumerated() {
            guard x == x.rounded(), x >= 0, x < Double(outputs) else {
                throw InputError(file: path, "class index \(x) of sample \(s) is not in 0…\(outputs - 1)")
            }
            onehot[s, Int(x)] = 1
        }
        return onehot
    }

    static func load(_ path: String) throws -> NDArray {
        do { return try NDArray(npyContentsOf: URL(fileURLWithPath: path)) } catch let e as NumPyFormatError {
            throw InputError(file: path, e.message)
        } catch {
            throw InputError(file: path, "cannot read: \(error.localizedDescription)")
        }
    }
}
