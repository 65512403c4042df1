import Foundation
import LinearAlgebra
import NumPyFormat
import Testing

@Suite("NumPy formats")
struct NumPyFormatTests {
    @Test("a .npy round trip keeps shape and bits, and the header is 64-byte aligned")
    func npyRoundTrip() throws {
        let a = NDArray(shape: [2, 3], data: [1, -2.5, .pi, 1e-300, -0.0, 7])
        let data = NPY.encode(a)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let b = try NPY.decode(data)
        #expect(b.shape == [2, 3])
        #expect(b.data.map(\.bitPattern) == a.data.map(\.bitPattern))
        #expect(try NPY.decode(NPY.encode(NDArray(vector: [1, 2]))).shape == [2])
        #expect(try NPY.decode(NPY.encode(NDArray(scalar: 3))).shape == [])
    }

    /// Builds a .npy payload by hand, the way NumPy lays it out.
    func payload(_ descr: String, fortran: Bool = false, shape: String, bytes: [UInt8]) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: bytes)
        return d
    }

    @Test("integer, float32, big-endian and Fortran-ordered arrays are widened to Double in C order")
    func otherDtypes() throws {
        #expect(try NPY.decode(payload("|u1", shape: "(3,)", bytes: [0, 7, 255])).data == [0, 7, 255])
        #expect(try NPY.decode(payload("<i2", shape: "(2,)", bytes: [0xff, 0xff, 0x02, 0x00])).data == [-1, 2])
        #expect(try NPY.decode(payload(">i4", shape: "(1,)", bytes: [0xff, 0xff, 0xff, 0xfe])).data == [-2])
        let f32 = Float(1.5).bitPattern
        #expect(try NPY.decode(payload("<f4", shape: "(1,)", bytes: (0..<4).map { UInt8((f32 >> (8 * $0)) & 0xff) })).data == [1.5])
        // Fortran order [[1,2,3],[4,5,6]] is stored column by column: 1 4 2 5 3 6.
        let bytes = [1.0, 4, 2, 5, 3, 6].flatMap { x in (0..<8).map { UInt8((x.bitPattern >> (8 * UInt64($0))) & 0xff) } }
        let f = try NPY.decode(payload("<f8", fortran: true, shape: "(2, 3)", bytes: bytes))
        #expect(f.data == [1, 2, 3, 4, 5, 6])
    }

    @Test("integer arrays are written as int64 and read back exactly, a seed above 2^53 included")
    func integers() throws {
        let big: Int64 = (1 << 60) + 1   // not a Double
        let a = NDArray(integers: [big, -1, 0], shape: [3])
        let encoded = NPY.encode(a)
        #expect(String(decoding: encoded.prefix(64), as: UTF8.self).contains("'descr': '<i8'"))
        let back = try NPY.decode(encoded)
        #expect(back == a && back.integers == [big, -1, 0] && back.firstInteger == big)
        // A float array stays float64, and changing an integer array's values makes it one.
        #expect(String(decoding: NPY.encode(NDArray(vector: [1])).prefix(64), as: UTF8.self).contains("'<f8'"))
        var changed = a
        changed.data[1] = 0.5
        #expect(changed.integers == nil && String(decoding: NPY.encode(changed).prefix(64), as: UTF8.self).contains("'<f8'"))
        // uint64 above Int64.max has no exact int64: it is read as a float.
        let huge = try NPY.decode(payload("<u8", shape: "(1,)", bytes: [UInt8](repeating: 0xff, count: 8)))
        #expect(huge.integers == nil && huge.data == [18446744073709551615.0])
        #expect(try NPY.decode(payload(">i4", shape: "(1,)", bytes: [0xff, 0xff, 0xff, 0xfe])).integers == [-2])
    }

    @Test("bad payloads are refused with a reason")
    func badPayloads() {
        #expect(throws: NumPyFormatError.self) { try NPY.decode(Data([1, 2, 3])) }
        #expect(throws: NumPyFormatError.self) { try NPY.decode(payload("<c16", shape: "(1,)", bytes: Array(repeating: 0, count: 16))) }
        #expect(throws: NumPyFormatError.self) { try NPY.decode(payload("<f8", shape: "(4,)", bytes: Array(repeating: 0, count: 8))) }
        #expect(throws: NumPyFormatError.self) { try NPZ(data: Data("not a zip".utf8)) }
    }

    @Test("a .npz round trip through a file, written atomically")
    func npzRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.npz")
        let npz = NPZ(["W1": NDArray(Matrix([[1, 2], [3, 4]])!), "b1": NDArray(vector: [5, 6])])
        try npz.write(to: url)
        #expect(try NPZ(contentsOf: url) == npz)
        // Same arrays, same bytes: fixed timestamps and sorted entries.
        #expect(try npz.encoded() == (try npz.encoded()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.npz"])
        #expect(throws: NumPyFormatError.self) { try npz.write(to: dir.appendingPathComponent("missing/x.npz")) }
    }
}
