import Foundation
import Testing
@testable import Training

@Suite("IDX files and image data sets")
struct IDXTests {
    func write(_ bytes: [UInt8], _ name: String, in dir: URL) throws {
        try Data(bytes).write(to: dir.appendingPathComponent(name))
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A tiny MNIST-shaped set: n images of 2×2 pixels.
    func tinySet(_ dir: URL, train: Int, test: Int) throws {
        func images(_ n: Int) -> [UInt8] { [0, 0, 8, 3, 0, 0, 0, UInt8(n), 0, 0, 0, 2, 0, 0, 0, 2] + (0..<(4 * n)).map { UInt8($0 % 256) } }
        func labels(_ n: Int) -> [UInt8] { [0, 0, 8, 1, 0, 0, 0, UInt8(n)] + (0..<n).map { UInt8($0 % 10) } }
        try write(images(train), "train-images-idx3-ubyte", in: dir)
        try write(labels(train), "train-labels-idx1-ubyte", in: dir)
        try write(images(test), "t10k-images-idx3-ubyte", in: dir)
        try write(labels(test), "t10k-labels-idx1-ubyte", in: dir)
    }

    @Test("plain IDX files load with pixels / 255, one-hot labels and the validation split")
    func loadsPlainFiles() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        try tinySet(dir, train: 12, test: 5)
        let d = try ImageDataset.load(directory: dir.path, validation: 2)
        #expect(d.train.count == 10 && d.validation.count == 2 && d.test.count == 5)
        #expect(d.train.inputs[1, 0] == 4.0 / 255)
        #expect(d.train.labels[3, 3] == 1 && d.train.labels.row(3).reduce(0, +) == 1)
        #expect(d.validation.classes == [0, 1])
    }

    @Test("missing files name the Debian package; bad headers and sizes are refused")
    func errors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try ImageDataset.load(directory: dir.path)
            Issue.record("loaded nothing")
        } catch let e as InputError {
            #expect(e.description.contains("apt-get install dataset-fashion-mnist"))
        }
        try write([1, 2, 3, 4], "bad", in: dir)
        #expect(throws: InputError.self) { try IDX.readBytes(path: dir.appendingPathComponent("bad").path) }
        try write([0, 0, 8, 1, 0, 0, 0, 9, 1, 2], "short", in: dir)
        #expect(throws: InputError.self) { try IDX.readBytes(path: dir.appendingPathComponent("short").path) }
    }

    @Test("Debian's gzip-compressed Fashion-MNIST loads: 55 000 / 5 000 / 10 000 images of 784 pixels in [0, 1]",
          .enabled(if: FileManager.default.fileExists(atPath: ImageDataset.debianFashionMNIST)))
    func fashionMNIST() throws {
        let d = try ImageDataset.load()
        #expect(d.train.count == 55_000 && d.validation.count == 5_000 && d.test.count == 10_000)
        #expect(d.train.inputs.columns == 784)
        #expect(d.train.inputs.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(Set(d.test.classes) == Set(0..<10))
    }
}
