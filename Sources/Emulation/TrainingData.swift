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
    /// A `Fingerprint` of every set's shape and every value's bits (hex), which a checkpoint
    /// records so that a resume on other data — another `--data`, `--data-dir` or `--limit` —
    /// is refused instead of silently continuing the run on it. One pass over ≈ 50 M words
    /// for Fashion-MNIST (< 0.5 s, once per run start).
    public var fingerprint: String {
        var f = Fingerprint(classification ? 0x243F_6A88_85A3_08D3 : 0x1319_8A2E_0370_7344)
        for m in [trainX, trainY, testX, testY, validationX, validationY] { f.combine(m) }
        return f.hex
    }

    /// "55000 train / 10000 test / 5000 validation samples": what a refused resume names.
    var sizes: String {
        "\(trainX.rows) train / \(testX.rows) test / \(validationX.rows) validation samples"
    }
}
