import DFC
import Foundation
import LinearAlgebra

/// The DI paper's training setups: plain SGD on the updates of one rule, online or in
/// mini-batches, optionally with fixed-norm updates (Fig. 3b: every step has norm η, so
/// only its direction matters).
public struct InversionTraining: Sendable, Equatable, Codable {
    public var learningRate = 0.01
    public var batchSize = 1
    public var epochs = 10
    /// Scale each whole-network update to norm `learningRate` (Fig. 3b).
    public var fixedNorm = false

    public init() {}
}

/// What one epoch gave.
public struct InversionEpoch: Sendable, Codable, Equatable {
    public var epoch: Int
    /// Normalized MSE on the test set, Σ‖y − t‖² / Σ‖t − t̄‖² (regression), or nil.
    public var testNMSE: Double?
    /// Misclassified fraction of the test set (classification), or nil.
    public var testError: Double?
    public var trainLoss: Double
    /// Backward passes whose dynamics did not settle within tolerance.
    public var unconverged: Int
    public var seconds: Double
    public var diagnostics: InversionDiagnostics?
}

/// Trains an `InversionModel` with one rule. Data are rows; every draw is from `seed`.
public struct InversionTrainer: Sendable {
    public var model: InversionModel
    public let rule: InversionRule
    public let parameters: InversionParameters
    public let training: InversionTraining
    public let loss: Loss
    public let seed: UInt64

    public init(model: InversionModel, rule: InversionRule, parameters: InversionParameters, training: InversionTraining,
                loss: Loss, seed: UInt64) throws {
        _ = try model.check(rule, parameters: parameters)
        guard training.learningRate > 0, training.learningRate.isFinite else { throw ModelError("learningRate: must be positive, got \(training.learningRate)") }
        guard training.batchSize > 0, training.epochs >= 0 else { throw ModelError("batchSize must be positive and epochs ≥ 0") }
        self.model = model
        self.rule = rule
        self.parameters = parameters
        self.training = training
        self.loss = loss
        self.seed = seed
    }

    /// δ_L = ∂L/∂a_L for a batch (per-sample loss summed over the batch).
    func outputError(_ ff: FeedforwardState, _ y: Matrix) -> Matrix {
        let net = model.network
        let g = loss.gradient(ff.output, y, reduction: .sum)
        return g.hadamard(net.activations[net.depth - 1].derivative(ff.potentials[net.depth - 1]))
    }

    /// Test measures of the current model.
    public func evaluate(testX: Matrix, testY: Matrix, classification: Bool) -> (nmse: Double?, error: Double?) {
        if classification {
            return (nil, model.network.evaluate(inputs: testX, labels: testY, loss: loss).errorRate)
        }
        let out = model.network.forward(testX).output
        let means = testY.columnSums().map { $0 / Double(max(1, testY.rows)) }
        var err = 0.0, spread = 0.0
        for s in 0..<out.rows {
            for j in 0..<out.columns {
                err += (out[s, j] - testY[s, j]) * (out[s, j] - testY[s, j])
                spread += (testY[s, j] - means[j]) * (testY[s, j] - means[j])
            }
        }
        return (err / max(spread, 1e-300), nil)
    }

    /// Trains for `training.epochs`, calling `epochFinished` after each (epoch 0 = untrained).
    public mutating func run(trainX: Matrix, trainY: Matrix, testX: Matrix, testY: Matrix, classification: Bool,
                             probe: Int = 32, epochFinished: (InversionEpoch) throws -> Void) throws {
        let probeX = testX.rows(0..<min(probe, testX.rows)), probeY = testY.rows(0..<min(probe, testY.rows))
        func diagnostics() -> InversionDiagnostics? {
            let ff = model.network.forward(probeX)
            return try? model.diagnostics(feedforward: ff, outputError: outputError(ff, probeY), parameters: parameters)
        }
        let start = evaluate(testX: testX, testY: testY, classification: classification)
        let initialLoss = loss.perSample(model.network.forward(trainX).output, trainY).reduce(0, +) / Double(max(1, trainX.rows))
        try epochFinished(InversionEpoch(epoch: 0, testNMSE: start.nmse, testError: start.error, trainLoss: initialLoss,
                                         unconverged: 0, seconds: 0, diagnostics: diagnostics()))
        let n = trainX.rows
        for epoch in 1...max(1, training.epochs) where training.epochs > 0 {
            let began = Date()
            var g = SeededGenerator(seed: seed).derived(0xD1).derived(UInt64(epoch))
            var order = Array(0..<n)
            for k in stride(from: n - 1, to: 0, by: -1) { order.swapAt(k, Int(g.next() % UInt64(k + 1))) }
            var unconverged = 0, lossSum = 0.0
            var position = 0
            while position < n {
                let idx = Array(order[position..<min(n, position + training.batchSize)])
                position += idx.count
                let x = trainX.rows(at: idx), y = trainY.rows(at: idx)
                let ff = model.network.forward(x)
                lossSum += loss.perSample(ff.output, y).reduce(0, +)
                let pass: BackwardPass
                do { pass = try model.backward(rule, feedforward: ff, outputError: outputError(ff, y), parameters: parameters) } catch let e as ModelError {
                    throw ModelError("\(rule.rawValue), epoch \(epoch): \(e.message) (the metrics of the finished epochs are kept)")
                }
                if !pass.converged(tolerance: parameters.tolerance) { unconverged += idx.count }
                // Non-finite errors mean the weights they came from already diverged.
                guard pass.deltas.allSatisfy(\.isFinite) else {
                    throw ModelError("\(rule.rawValue): training diverged in epoch \(epoch) (errors turned non-finite); lower the learning rate")
                }
                var rate = training.learningRate
                if training.fixedNorm {
                    let norm = model.updateNormSquared(pass, feedforward: ff).squareRoot()
                    rate = norm > 0 ? training.learningRate / norm : 0
                }
                model.applyUpdate(pass, feedforward: ff, rate: rate)
            }
            guard model.network.weights.allSatisfy(\.isFinite) else {
                throw ModelError("\(rule.rawValue): training diverged in epoch \(epoch) (weights turned non-finite); lower the learning rate")
            }
            let test = evaluate(testX: testX, testY: testY, classification: classification)
            try epochFinished(InversionEpoch(epoch: epoch, testNMSE: test.nmse, testError: test.error, trainLoss: lossSum / Double(n),
                                             unconverged: unconverged, seconds: Date().timeIntervalSince(began), diagnostics: diagnostics()))
        }
    }
}
