import DFC
import LinearAlgebra
import Training

/// Training and test sets of a run.
public struct TrainingData: Sendable {
    public var trainX: Matrix
    public var trainY: Matrix
    public var testX: Matrix
    public var testY: Matrix
    /// One-hot labels: report the test error as well as the loss.
    public var classification: Bool
    /// The held-out split for model selection (empty when the data has none).
    public var validationX: Matrix
    public var validationY: Matrix

    public init(trainX: Matrix, trainY: Matrix, testX: Matrix, testY: Matrix, classification: Bool,
                validationX: Matrix = Matrix(rows: 0, columns: 0), validationY: Matrix = Matrix(rows: 0, columns: 0)) {
        self.trainX = trainX
        self.trainY = trainY
        self.testX = testX
        self.testY = testY
        self.classification = classification
        self.validationX = validationX
        self.validationY = validationY
    }

    /// The student–teacher task: teacher from the config's seed, inputs from seed + 1 (train) and + 2 (test).
    public static func studentTeacher(configuration: Configuration, training: TrainingParameters) throws -> TrainingData {
        let task = try StudentTeacher(configuration: configuration, seed: configuration.seed)
        let train = task.samples(training.trainSamples, seed: configuration.seed &+ 1)
        let test = task.samples(training.testSamples, seed: configuration.seed &+ 2)
        return TrainingData(trainX: train.input, trainY: train.labels, testX: test.input, testY: test.labels, classification: false)
    }

    /// An image data set: train, test, and the validation split evaluated every epoch for model selection.
    public static func images(_ d: ImageDataset) -> TrainingData {
        TrainingData(trainX: d.train.inputs, trainY: d.train.labels, testX: d.test.inputs, testY: d.test.labels, classification: true,
                     validationX: d.validation.inputs, validationY: d.validation.labels)
    }
}

extension TrainingData {
    /// A digest of every set's shape and every value's bits (hex, 64-bit), which a checkpoint
    /// records so that a resume on other data — another `--data`, `--data-dir` or `--limit` —
    /// is refused instead of silently continuing the run on it.
    ///
    /// Not cryptographic: each 64-bit word goes through a multiply–xorshift mix (the
    /// finalizer of SplitMix64) into a running state, one pass over ≈ 50 M words for
    /// Fashion-MNIST (≈ 0.1 s, once per run start).
    public var fingerprint: String {
        var h: UInt64 = classification ? 0x243F_6A88_85A3_08D3 : 0x1319_8A2E_0370_7344
        func mix(_ word: UInt64) {
            var z = (h ^ word) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            h = z ^ (z >> 31)
        }
        for m in [trainX, trainY, testX, testY, validationX, validationY] {
            mix(UInt64(m.rows))
            mix(UInt64(m.columns))
            m.storage.withUnsafeBufferPointer { values in
                for v in values { mix(v.bitPattern) }
            }
        }
        return String(h, radix: 16)
    }

    /// "55000 train / 10000 test / 5000 validation samples": what a refused resume names.
    var sizes: String {
        "\(trainX.rows) train / \(testX.rows) test / \(validationX.rows) validation samples"
    }
}
