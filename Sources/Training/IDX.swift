import CGzip
import Foundation
import LinearAlgebra

/// The IDX format of MNIST and Fashion-MNIST: a magic number (0x0000, type code,
/// number of dimensions), big-endian UInt32 sizes, then the data. Files may be gzip
/// compressed (Debian's `dataset-fashion-mnist` ships `*.gz`).
public enum IDX {
    /// An unsigned-byte IDX array: its dimensions and values.
    ///
    /// The header is read first and its sizes are multiplied out with overflow checks and
    /// held to `MemoryBudget` (the bytes and the float64 matrix they become) before the data
    /// are read; a file that inflates past what its header declares is refused as it reads,
    /// so a gzip bomb costs no more memory than an honest file of the declared size.
    public static func readBytes(path: String) throws -> (dimensions: [Int], values: [UInt8]) {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "file not found") }
        guard let file = gzopen(path, "rb") else { throw InputError(file: path, "cannot open") }
        defer { gzclose(file) }
        /// Up to `count` bytes (fewer only at the end of the file).
        func read(_ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let chunk = UInt32(min(count - filled, 1 << 20))
                let n = out.withUnsafeMutableBytes { b -> Int32 in b.baseAddress.map { gzread(file, $0 + filled, chunk) } ?? 0 }
                if n < 0 { throw InputError(file: path, "corrupt gzip data") }
                if n == 0 { break }
                filled += Int(n)
            }
            return filled == count ? out : Array(out[0..<filled])
        }
        let magic = try read(4)
        guard magic.count == 4, magic[0] == 0, magic[1] == 0 else { throw InputError(file: path, "not an IDX file (bad magic)") }
        guard magic[2] == 0x08 else { throw InputError(file: path, "IDX type 0x\(String(magic[2], radix: 16)) is not unsigned bytes") }
        let rank = Int(magic[3])
        let sizes = try read(4 * rank)
        guard rank >= 1, sizes.count == 4 * rank else { throw InputError(file: path, "truncated IDX header") }
        let dims = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(sizes[4 * d + $1]) } }
        guard let count = MemoryBudget.product(dims) else {
            throw InputError(file: path, field: "header", "dimensions \(dims) overflow 64 bits")
        }
        do {
            // The bytes, and the float64 matrix they become.
            try MemoryBudget.require(MemoryBudget.product([count], scale: 9), for: "\(dims.map(String.init).joined(separator: "×")) IDX values")
        } catch let e as LinearAlgebraError {
            throw InputError(file: path, field: "header", e.description)
        }
        let values = try read(count)
        guard values.count == count else {
            throw InputError(file: path, "IDX data holds \(values.count) bytes, the header says \(count)")
        }
        guard try read(1).isEmpty else {
            throw InputError(file: path, "IDX data holds more bytes than the header's \(count)")
        }
        return (dims, values)
    }
}

/// A classification data set: inputs (rows are samples) and one-hot labels.
public struct ClassificationSet: Sendable {
    public var inputs: Matrix
    public var labels: Matrix
    public var classes: [Int]

    public var count: Int { inputs.rows }

    /// Rows `range` of the set.
    public func slice(_ range: Range<Int>) -> ClassificationSet {
        ClassificationSet(inputs: inputs.rows(range), labels: labels.rows(range), classes: Array(classes[range]))
    }
}

/// Fashion-MNIST (or MNIST) from IDX files, preprocessed as the DFC paper's code does:
/// pixels / 255, no normalization; the 60 000 training images split into 55 000 train and
/// 5 000 validation (the last 5 000), the 10 000 test images kept.
public struct ImageDataset: Sendable {
    public var train: ClassificationSet
    public var validation: ClassificationSet
    public var test: ClassificationSet

    /// Where Debian's `dataset-fashion-mnist` puts the files.
    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// Reads `directory` (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
    /// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]); `limit` keeps only the
    /// first n training and n/5 test images (small, fast runs).
    public static func load(directory: String = debianFashionMNIST, validation: Int = 5_000, limit: Int? = nil) throws -> ImageDataset {
        func file(_ stem: String) throws -> String {
            for name in [stem + ".gz", stem] {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
                if FileManager.default.fileExists(atPath: path) { return path }
            }
            throw InputError(file: URL(fileURLWithPath: directory).appendingPathComponent(stem).path,
                             "missing (for Fashion-MNIST: apt-get install dataset-fashion-mnist, or --data-dir DIR with the four IDX files)")
        }
        func set(_ images: String, _ labels: String, keep: Int?) throws -> ClassificationSet {
            let imagePath = try file(images), labelPath = try file(labels)
            let (dims, pixels) = try IDX.readBytes(path: imagePath)
            let (ldims, classes) = try IDX.readBytes(path: labelPath)
            guard dims.count == 3, ldims.count == 1, dims[0] == ldims[0] else {
                throw InputError(file: imagePath, "images \(dims) and labels \(ldims) do not match")
            }
            guard let maxClass = classes.max(), maxClass < 10 else { throw InputError(file: labelPath, "labels outside 0…9") }
            let n = min(dims[0], keep ?? dims[0]), features = dims[1] * dims[2]
            var x = Matrix(rows: n, columns: features)
            for k in 0..<(n * features) { x.storage[k] = Double(pixels[k]) / 255 }
            var y = Matrix(rows: n, columns: 10)
            for s in 0..<n { y[s, Int(classes[s])] = 1 }
            return ClassificationSet(inputs: x, labels: y, classes: classes.prefix(n).map(Int.init))
        }
        let all = try set("train-images-idx3-ubyte", "train-labels-idx1-ubyte", keep: nil)
        let test = try set("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", keep: limit.map { max(1, $0 / 5) })
        let trainCount = all.count - validation
        guard trainCount > 0 else { throw InputError(file: directory, "only \(all.count) training images, fewer than the validation split") }
        var train = all.slice(0..<trainCount)
        if let limit { train = train.slice(0..<min(limit, trainCount)) }
        return ImageDataset(train: train, validation: all.slice(trainCount..<all.count), test: test)
    }
}
