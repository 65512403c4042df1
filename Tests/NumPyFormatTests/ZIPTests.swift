import Foundation
@testable import NumPyFormat
import Testing

@Suite("ZIP reader and writer")
struct ZIPTests {
    static var hasNumPy: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static func python(_ code: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("archives NumPy writes (savez with its ZIP64 fields, savez_compressed) read with every bit", .enabled(if: hasNumPy))
    func readsNumPy() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (file, function) in [("plain.npz", "savez"), ("deflated.npz", "savez_compressed")] {
            let path = dir.appendingPathComponent(file).path
            _ = try Self.python("""
            import numpy as np
            rng = np.random.default_rng(5)
            np.\(function)('\(path)', a=rng.standard_normal((7, 3)), b=np.arange(10, dtype=np.int32), c=np.float32([1.5, -2]))
            """)
            let npz = try NPZ(contentsOf: URL(fileURLWithPath: path))
            #expect(npz["a"]?.shape == [7, 3] && npz["b"]?.data == (0..<10).map(Double.init) && npz["c"]?.data == [1.5, -2], "\(file)")
            // The float64 bits agree with NumPy's own print of them.
            let hex = try Self.python("import numpy as np; print(np.load('\(path)')['a'].tobytes().hex())")
            let ours = npz["a"]?.data.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }.map { String(format: "%02x", $0) }.joined()
            #expect(ours == hex, "\(file)")
        }
    }

    @Test("70 000 entries (past ZIP64's 65 535) round-trip through our writer and reader, and NumPy reads them")
    func manyEntries() throws {
        var arrays: [String: NDArray] = [:]
        for k in 0..<70_000 { arrays["v\(k)"] = NDArray(vector: [Double(k), -Double(k) / 3]) }
        let npz = NPZ(arrays)
        let data = try npz.encoded()
        let back = try NPZ(data: data)
        #expect(back == npz)
        guard Self.hasNumPy else { return }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("many.npz").path
        try data.write(to: URL(fileURLWithPath: path))
        let answer = try Self.python("import numpy as np; z = np.load('\(path)'); print(len(z.files), z['v69999'][1])")
        #expect(answer == "70000 \(-69_999.0 / 3)", "\(answer)")
    }

    @Test("encoding is deterministic and linear in the number of entries")
    func writerIsLinear() throws {
        func seconds(_ n: Int) throws -> Double {
            var arrays: [String: NDArray] = [:]
            for k in 0..<n { arrays["v\(k)"] = NDArray(vector: [Double(k)]) }
            let start = Date()
            _ = try NPZ(arrays).encoded()
            return Date().timeIntervalSince(start)
        }
        _ = try seconds(2_000)
        let small = try seconds(10_000), large = try seconds(40_000)
        // Linear: 4× the entries in about 4× the time; ZIPFoundation's writer took 8–10× here.
        #expect(large < 7 * small, "10 000 entries \(small) s, 40 000 entries \(large) s")
        #expect(try NPZ(["x": NDArray(vector: [1, 2])]).encoded() == NPZ(["x": NDArray(vector: [1, 2])]).encoded())
    }

    @Test("a corrupt deflate stream, a lying size and a broken directory are refused with a reason")
    func refusals() throws {
        let good = try NPZ(["x": NDArray(vector: [1, 2, 3])]).encoded()
        var truncatedDirectory = good
        truncatedDirectory.removeLast(30)
        #expect(throws: NumPyFormatError.self) { try NPZ(data: truncatedDirectory) }
        var flipped = [UInt8](good)
        flipped[40] ^= 0x55   // inside the stored payload: the CRC-32 catches it
        #expect(throws: NumPyFormatError.self) { try NPZ(data: Data(flipped)) }
        // An end record that claims five entries in an empty directory.
        #expect(throws: NumPyFormatError.self) { try NPZ(data: Data([0x50, 0x4b, 5, 6, 0, 0, 0, 0, 5, 0, 5, 0] + [UInt8](repeating: 0, count: 10))) }
    }
}

@Suite("Fuzzing findings stay fixed")
struct NPZFindingTests {
    /// libFuzzer's first finding: ZIPFoundation trapped on this archive (a range with
    /// lowerBound > upperBound). Our reader must answer with an error or a value, never trap.
    @Test("the archive that made ZIPFoundation trap is refused with a reason")
    func zipFoundationRange() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/seeds/npz/finding-zipfoundation-range.npz")
        let data = try Data(contentsOf: url)
        #expect(throws: NumPyFormatError.self) { try NPZ(data: data) }
    }
}
