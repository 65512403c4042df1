import DFC
import Foundation
import LinearAlgebra
import NumPyFormat
import Training

/// Everything needed to continue a run exactly where it stopped.
///
/// On disk it is two files: `checkpoint.json` (the counters, the metrics, the optimizer
/// settings: small and readable) and the tensors it names in `tensorFile` (weights and
/// Adam moments as float64 in an NPZ). Tensors as JSON text made a 784-256-256-256-10
/// checkpoint 22 MB and took a third of a `bp` epoch to write; binary is exact and fast.
public struct TrainingCheckpoint: Sendable, Codable {
    public var seed: UInt64
    public var backend: String
    public var variant: String
    /// The epoch in progress and how many of its samples are done.
    public var epoch: Int
    public var position: Int
    public var samplesSeen: Int
    /// Reprogramming cycles of the devices so far.
    public var cycle: UInt64
    public var forward: [[Double]]
    public var feedback: [[Double]]
    public var optimizer: Optimizer
    public var feedbackOptimizer: Optimizer
    public var metrics: [EpochMetrics]
    /// Counts of the epoch in progress.
    public var pending: EpochMetrics
    /// Feedback-only pre-training passes done (they come before epoch 1).
    public var pretrainDone: Int = 0
    /// Extra feedback passes done after the current epoch's forward pass.
    public var extraFeedbackDone: Int = 0
    /// Whether the current epoch's leading feedback pass (`training.feedbackPassFirst`) is
    /// done; nil in checkpoints written before it existed, and between epochs.
    public var feedbackFirstDone: Bool?
    /// Samples done in the feedback-only pass in progress, when a stop came inside one (the
    /// pass is the one the counters above say comes next); nil otherwise.
    public var feedbackPassPosition: Int?
    /// The NPZ beside checkpoint.json that holds the tensors (nil: they are inline, as
    /// in checkpoints written before the split).
    public var tensorFile: String?
    /// `TrainingData.fingerprint` of the data the run trains on, and their sizes; nil in
    /// checkpoints written before they were recorded (a resume of those is not checked).
    public var dataFingerprint: String?
    public var dataSizes: String?
    /// `BLASCore.machineSignature` of the process that wrote this checkpoint (nil before it
    /// was recorded): a resume under another one is exact to rounding, not to the bit.
    public var machine: String?
    /// The backend's `checkpointState`: tensors in the NPZ as `device.<name>`, their names in
    /// checkpoint.json; nil when the backend keeps none (and in checkpoints before it existed).
    public var device: DeviceTensors?
}

/// Tensors of a checkpoint that live only in its NPZ: checkpoint.json holds their names.
public struct DeviceTensors: Sendable, Codable, Equatable {
    public var tensors: [String: Matrix]

    public init(_ tensors: [String: Matrix]) { self.tensors = tensors }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(tensors.keys.sorted())
    }

    /// The names only; `TrainingCheckpoint.read` fills in the tensors.
    public init(from decoder: Decoder) throws {
        let names = try decoder.singleValueContainer().decode([String].self)
        tensors = Dictionary(uniqueKeysWithValues: Set(names).map { ($0, Matrix(rows: 0, columns: 0)) })
    }
}

extension TrainingCheckpoint {
    static let jsonName = "checkpoint.json"

    /// Metrics can hold ±∞ or NaN (a loss that overflowed): JSON has no literal for them,
    /// so they are written as the strings "inf", "-inf" and "nan".
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// Reads what `encoder` writes.
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
    static let tensorPrefix = "checkpoint-"

    /// The tensor groups, named as in the NPZ: `forward.3` is the fourth forward tensor.
    private var groups: [(String, [[Double]])] {
        [("forward", forward), ("feedback", feedback),
         ("optimizer.m", optimizer.firstMoments), ("optimizer.v", optimizer.secondMoments),
         ("feedbackOptimizer.m", feedbackOptimizer.firstMoments), ("feedbackOptimizer.v", feedbackOptimizer.secondMoments)]
    }

    /// Writes the tensors to a new NPZ, then checkpoint.json naming it (each atomically),
    /// then removes older tensor files. A kill at any point leaves a JSON whose NPZ exists.
    func write(to directory: URL, encoder: JSONEncoder) throws {
        var npz = NPZ()
        for (name, tensors) in groups {
            for (k, t) in tensors.enumerated() { npz["\(name).\(k)"] = NDArray(vector: t) }
        }
        for (name, t) in device?.tensors ?? [:] { npz["device.\(name)"] = NDArray(t) }
        let file = "\(Self.tensorPrefix)\(samplesSeen)-\(pretrainDone)-\(extraFeedbackDone)-\(cycle).npz"
        try npz.write(to: directory.appendingPathComponent(file))
        var light = self
        light.forward = []
        light.feedback = []
        light.optimizer.firstMoments = []
        light.optimizer.secondMoments = []
        light.feedbackOptimizer.firstMoments = []
        light.feedbackOptimizer.secondMoments = []
        light.tensorFile = file
        try AtomicFile.write(try encoder.encode(light), to: directory.appendingPathComponent(Self.jsonName))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasPrefix(Self.tensorPrefix) && name.hasSuffix(".npz") && name != file {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// The backend a checkpoint names, from checkpoint.json alone, without its tensors; nil
    /// when there is none or it is unreadable (`read` then says why).
    public static func backend(in directory: URL) -> String? {
        struct Header: Decodable { var backend: String }
        guard let bytes = FileManager.default.contents(atPath: directory.appendingPathComponent(jsonName).path) else { return nil }
        return try? decoder.decode(Header.self, from: bytes).backend
    }

    /// Reads checkpoint.json and the tensors it names.
    static func read(from directory: URL) throws -> TrainingCheckpoint {
        let path = directory.appendingPathComponent(jsonName).path
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(path): no checkpoint to resume from")
        }
        var saved: TrainingCheckpoint
        do { saved = try decoder.decode(TrainingCheckpoint.self, from: bytes) } catch {
            throw ModelError("\(path): unreadable checkpoint (\(error))")
        }
        guard let file = saved.tensorFile else { return saved }
        guard !file.contains("/"), file.hasPrefix(tensorPrefix) else {
            throw ModelError("\(path): tensorFile '\(file)' is not a checkpoint file of this directory")
        }
        let url = directory.appendingPathComponent(file)
        let npz: NPZ
        do { npz = try NPZ(contentsOf: url) } catch {
            throw ModelError("\(url.path): unreadable checkpoint tensors (\(error))")
        }
        func group(_ name: String) -> [[Double]] {
            var out = [[Double]]()
            while let a = npz["\(name).\(out.count)"] { out.append(a.data) }
            return out
        }
        saved.forward = group("forward")
        saved.feedback = group("feedback")
        saved.optimizer.firstMoments = group("optimizer.m")
        saved.optimizer.secondMoments = group("optimizer.v")
        saved.feedbackOptimizer.firstMoments = group("feedbackOptimizer.m")
        saved.feedbackOptimizer.secondMoments = group("feedbackOptimizer.v")
        if let names = saved.device?.tensors.keys.sorted() {
            var tensors = [String: Matrix]()
            for name in names {
                guard let m = npz["device.\(name)"]?.matrix else {
                    throw ModelError("\(url.path): the checkpoint names device tensor '\(name)' but holds no such matrix")
                }
                tensors[name] = m
            }
            saved.device = DeviceTensors(tensors)
        }
        return saved
    }
}
