import DFC
import Foundation
import LinearAlgebra

/// The I-th of N slices of a data set, `I/N` with 0 ≤ I < N.
///
/// Slices are made of whole chunks of `DataSetEvaluation.chunk` samples counted from the
/// start of the set, so every sample is computed in the same chunk, with the same matrix
/// shapes, whichever shard holds it: merged shards equal the unsharded run bit for bit on any
/// machine, not only to rounding.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw ModelError("a shard is I/N with N ≥ 1 and 0 ≤ I < N, got \(index)/\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ModelError("a shard is written I/N (e.g. 0/4), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The samples of this shard in a set of `samples`.
    public func range(samples: Int) -> Range<Int> {
        let chunk = DataSetEvaluation.chunk
        let chunks = (samples + chunk - 1) / chunk
        let lo = index * chunks / count, hi = (index + 1) * chunks / count
        return min(samples, lo * chunk)..<min(samples, hi * chunk)
    }
}

/// Loss and error of a network over (a slice of) a data set, sample by sample, so that slices
/// evaluated apart merge into exactly the whole: sums run over samples in index order.
public struct DataSetEvaluation: Codable, Sendable, Equatable {
    /// Rows per forward pass: shards are cut at multiples of this.
    public static let chunk = 16

    /// The samples covered, as indices into the whole set.
    public var start: Int
    public var end: Int
    /// Samples in the whole set.
    public var total: Int
    /// ℓ(r_L, y) of each sample, in index order (NaN for a sample the backend skipped).
    public var losses: [Double]
    /// For classification: whether the arg-max output hits the label's 1; empty otherwise.
    public var hits: [Bool]
    /// Samples the SPICE backend could not simulate even with relaxed options.
    public var skipped: [Int]

    public init(start: Int, end: Int, total: Int, losses: [Double], hits: [Bool], skipped: [Int] = []) {
        self.start = start
        self.end = end
        self.total = total
        self.losses = losses
        self.hits = hits
        self.skipped = skipped
    }

    public var samples: Int { end - start }
    /// Σ ℓ over the simulated samples, in index order.
    public var lossSum: Double { losses.reduce(0) { $1.isNaN ? $0 : $0 + $1 } }
    public var meanLoss: Double { lossSum / Double(max(1, samples - skipped.count)) }
    /// Misclassified fraction of the simulated samples (nil for regression).
    public var errorRate: Double? {
        guard !hits.isEmpty else { return nil }
        let simulated = samples - skipped.count
        let correct = hits.enumerated().reduce(0) { $0 + ($1.element && !skipped.contains(start + $1.offset) ? 1 : 0) }
        return 1 - Double(correct) / Double(max(1, simulated))
    }

    /// Slices put back together; they must tile one set without gaps or overlaps.
    public static func merged(_ parts: [DataSetEvaluation]) throws -> DataSetEvaluation {
        let sorted = parts.sorted { $0.start < $1.start }
        guard let first = sorted.first else { throw ModelError("nothing to merge") }
        var whole = DataSetEvaluation(start: 0, end: 0, total: first.total, losses: [], hits: [], skipped: [])
        for p in sorted {
            guard p.total == first.total else { throw ModelError("the slices come from sets of \(first.total) and \(p.total) samples") }
            guard p.start == whole.end else {
                throw ModelError(p.start > whole.end ? "samples \(whole.end)..<\(p.start) are in no slice" : "samples from \(p.start) are in two slices")
            }
            guard (p.hits.isEmpty) == (first.hits.isEmpty) else { throw ModelError("the slices mix classification and regression") }
            whole.end = p.end
            whole.losses += p.losses
            whole.hits += p.hits
            whole.skipped += p.skipped
        }
        guard whole.start == 0, whole.end == whole.total else {
            throw ModelError("the slices cover samples 0..<\(whole.end) of \(whole.total)")
        }
        return whole
    }

    /// Per-sample losses and hits of `outputs` (rows are samples `start…`) against `labels`.
    static func scored(outputs: Matrix, labels: Matrix, loss: Loss, classification: Bool) -> ([Double], [Bool]) {
        let losses = loss.perSample(outputs, labels)
        guard classification else { return (losses, []) }
        let hits = (0..<outputs.rows).map { s -> Bool in
            var best = 0
            for j in 1..<max(1, outputs.columns) where outputs[s, j] > outputs[s, best] { best = j }
            return labels[s, best] == 1
        }
        return (losses, hits)
    }

    /// The feedforward pass of `network` over `range` of the set, in chunks aligned to the
    /// set's start, chunks in parallel.
    public static func evaluate(_ network: Network, inputs: Matrix, labels: Matrix, loss: Loss, classification: Bool,
                                range: Range<Int>) -> DataSetEvaluation {
        evaluate(outputs: { network.forward($0).output }, inputs: inputs, labels: labels, loss: loss,
                 classification: classification, range: range)
    }

    /// `evaluate` with any row-by-row feedforward pass (a backend's `feedforwardOutput`).
    public static func evaluate(outputs: @Sendable (Matrix) -> Matrix, inputs: Matrix, labels: Matrix, loss: Loss,
                                classification: Bool, range: Range<Int>) -> DataSetEvaluation {
        let chunks = stride(from: range.lowerBound, to: range.upperBound, by: chunk).map { $0..<min(range.upperBound, $0 + chunk) }
        var parts = [([Double], [Bool])](repeating: ([], []), count: chunks.count)
        parts.withUnsafeMutableBufferPointer { out in
            guard let slots = out.baseAddress else { return }
            Parallel.forEach(chunks.count) { k in
                let rows = chunks[k]
                slots[k] = scored(outputs: outputs(inputs.rows(rows)), labels: labels.rows(rows), loss: loss, classification: classification)
            }
        }
        return DataSetEvaluation(start: range.lowerBound, end: range.upperBound, total: inputs.rows,
                                 losses: parts.flatMap(\.0), hits: parts.flatMap(\.1))
    }

    /// The circuit's own feedforward operating point for each sample of `range` (`workers` at a
    /// time); a sample that fails even with relaxed options is skipped and listed.
    public static func evaluate(_ backend: SpiceBackend, inputs: Matrix, labels: Matrix, loss: Loss, classification: Bool,
                                range: Range<Int>, progress: (@Sendable (Int) -> Void)? = nil) throws -> DataSetEvaluation {
        let outputs = try backend.feedforwardOutputs(inputs: inputs.rows(range), progress: progress)
        var (losses, hits) = scored(outputs: outputs.values, labels: labels.rows(range), loss: loss, classification: classification)
        for s in outputs.skipped {
            losses[s] = .nan
            if !hits.isEmpty { hits[s] = false }
        }
        return DataSetEvaluation(start: range.lowerBound, end: range.upperBound, total: inputs.rows,
                                 losses: losses, hits: hits, skipped: outputs.skipped.map { $0 + range.lowerBound })
    }
}

/// What `dfcspice evaluate` writes: the evaluation on the chosen backend, the same samples with
/// the model's own (ideal) weights beside it, and where they come from.
public struct EvaluationReport: Codable, Sendable {
    public var config: String
    public var model: String
    /// ideal, behavioral or spice.
    public var backend: String
    /// student-teacher or images, and the split (test, validation, train).
    public var data: String
    public var split: String
    /// The config's seed and the circuit's device seed: every draw of the run comes from them.
    public var seed: UInt64
    public var deviceSeed: UInt64
    /// `I/N`, or nil for the whole set (and for a merge of all shards).
    public var shard: String?
    /// One line on the devices and circuit the backend used.
    public var hardware: String
    /// The backend's evaluation; with several programmings (behavioral), the first one's.
    public var evaluation: DataSetEvaluation
    /// The same samples through the model's own weights.
    public var ideal: DataSetEvaluation
    /// Mean loss and error rate of each programming, when more than one was drawn.
    public var programmings: [[Double]]?
    public var seconds: Double

    public init(config: String, model: String, backend: String, data: String, split: String, seed: UInt64, deviceSeed: UInt64,
                shard: String?, hardware: String, evaluation: DataSetEvaluation, ideal: DataSetEvaluation,
                programmings: [[Double]]? = nil, seconds: Double) {
        self.config = config
        self.model = model
        self.backend = backend
        self.data = data
        self.split = split
        self.seed = seed
        self.deviceSeed = deviceSeed
        self.shard = shard
        self.hardware = hardware
        self.evaluation = evaluation
        self.ideal = ideal
        self.programmings = programmings
        self.seconds = seconds
    }

    /// The figures a sweep collects: mean loss and error rate (classification) on the backend and ideal.
    public var metrics: [String: Double] {
        var m = ["meanLoss": evaluation.meanLoss, "idealMeanLoss": ideal.meanLoss, "skipped": Double(evaluation.skipped.count),
                 "samples": Double(evaluation.samples)]
        if let e = evaluation.errorRate { m["errorRate"] = e }
        if let e = ideal.errorRate { m["idealErrorRate"] = e }
        if let p = programmings, !p.isEmpty {
            m["meanLoss"] = p.map { $0[0] }.reduce(0, +) / Double(p.count)
            if p[0].count > 1 { m["errorRate"] = p.map { $0[1] }.reduce(0, +) / Double(p.count) }
        }
        return m
    }

    /// Shards of one evaluation merged: they must agree on everything but the slice.
    public static func merged(_ parts: [EvaluationReport]) throws -> EvaluationReport {
        guard var whole = parts.first else { throw ModelError("nothing to merge") }
        for p in parts.dropFirst() {
            for (name, a, b) in [("model", whole.model, p.model), ("backend", whole.backend, p.backend),
                                 ("data", whole.data, p.data), ("split", whole.split, p.split), ("hardware", whole.hardware, p.hardware)] where a != b {
                throw ModelError("the shards differ in their \(name): '\(a)' and '\(b)'")
            }
            guard p.seed == whole.seed, p.deviceSeed == whole.deviceSeed else { throw ModelError("the shards differ in their seeds") }
            guard p.programmings == nil else { throw ModelError("a shard drew several programmings; shards take one") }
        }
        whole.evaluation = try DataSetEvaluation.merged(parts.map(\.evaluation))
        whole.ideal = try DataSetEvaluation.merged(parts.map(\.ideal))
        whole.shard = nil
        whole.seconds = parts.map(\.seconds).reduce(0, +)
        return whole
    }

    /// A skipped sample's loss is NaN: the checkpoints' JSON convention ("nan", "inf") holds it.
    public static var encoder: JSONEncoder { TrainingCheckpoint.encoder }
    public static var decoder: JSONDecoder { TrainingCheckpoint.decoder }
}
