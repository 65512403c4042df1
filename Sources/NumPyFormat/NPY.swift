import Foundation
import LinearAlgebra

/// Why a `.npy` or `.npz` could not be read. The message names what was wrong;
/// callers add the file name.
public struct NumPyFormatError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The `.npy` format, version 1.0–3.0: magic `\x93NUMPY`, a version, a header
/// length, a Python-literal dict `{'descr': …, 'fortran_order': …, 'shape': (…)}`
/// padded with spaces and a newline, then the raw elements.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Encodes `array` as little-endian float64, C order, format version 1.0.
    public static func encode(_ array: NDArray) -> Data {
        let shape = array.shape.map(String.init).joined(separator: ", ") + (array.shape.count == 1 ? "," : "")
        var header = "{'descr': '\(array.integers == nil ? "<f8" : "<i8")', 'fortran_order': False, 'shape': (\(shape)), }"
        // NumPy pads so that the data starts at a multiple of 64 bytes.
        let preamble = magic.count + 2 + 2
        let total = preamble + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        if let integers = array.integers {
            for x in integers {
                var bits = x.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
            return out
        }
        array.data.withUnsafeBufferPointer { p in
            for x in p {
                var bits = x.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Where the header starts and how long it is, from the magic and version bytes.
    static func preamble(_ bytes: [UInt8]) throws -> (start: Int, length: Int) {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NumPyFormatError("not a .npy payload (bad magic)")
        }
        switch bytes[6] {
        case 1:
            return (10, Int(bytes[8]) | Int(bytes[9]) << 8)
        case 2, 3:
            guard bytes.count >= 12 else { throw NumPyFormatError("truncated .npy header") }
            return (12, Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24)
        default:
            throw NumPyFormatError("unsupported .npy version \(bytes[6])")
        }
    }

    /// Decodes a `.npy` payload. Accepts float64/float32 and (un)signed integers of
    /// 1–8 bytes in either byte order, C or Fortran order; all become `Double`.
    public static func decode(_ data: Data) throws -> NDArray {
        let bytes = [UInt8](data)
        let (headerStart, headerLength) = try preamble(bytes)
        guard headerStart + headerLength <= bytes.count else { throw NumPyFormatError("truncated .npy header") }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw NumPyFormatError("the .npy header is not text")
        }
        let parsed = try Header(parsing: header)
        let count = parsed.shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count - start >= count * parsed.itemSize else {
            throw NumPyFormatError("truncated .npy data: shape \(parsed.shape) needs \(count * parsed.itemSize) bytes, found \(bytes.count - start)")
        }
        do { try MemoryBudget.require(MemoryBudget.product([count], scale: 8), for: "an array of shape \(parsed.shape)") } catch let e as LinearAlgebraError {
            throw NumPyFormatError(e.description)
        }
        // Integers that fit int64 stay exact (every signed type; unsigned ones up to 2⁶³ − 1).
        if parsed.kind != .float {
            var exact = [Int64](repeating: 0, count: count)
            var fits = true
            for k in 0..<count {
                guard let x = parsed.integer(bytes, at: start + k * parsed.itemSize) else { fits = false; break }
                exact[k] = x
            }
            if fits {
                if parsed.fortranOrder && parsed.shape.count > 1 { exact = fortranToC(exact, shape: parsed.shape) }
                return NDArray(integers: exact, shape: parsed.shape)
            }
        }
        var values = [Double](repeating: 0, count: count)
        for k in 0..<count {
            values[k] = parsed.element(bytes, at: start + k * parsed.itemSize)
        }
        if parsed.fortranOrder && parsed.shape.count > 1 {
            values = fortranToC(values, shape: parsed.shape)
        }
        return NDArray(shape: parsed.shape, data: values)
    }

    static func fortranToC<T>(_ values: [T], shape: [Int]) -> [T] {
        var out = values
        let n = shape.count
        var index = [Int](repeating: 0, count: n)
        for c in 0..<values.count {
            // c walks the C order; compute the matching Fortran offset.
            var f = 0, stride = 1
            for d in 0..<n { f += index[d] * stride; stride *= shape[d] }
            out[c] = values[f]
            var d = n - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    struct Header {
        enum Kind { case float, signed, unsigned }
        var kind: Kind
        var itemSize: Int
        var bigEndian: Bool
        var fortranOrder: Bool
        var shape: [Int]

        init(parsing text: String) throws {
            func value(of key: String) throws -> Substring {
                guard let r = text.range(of: "'\(key)'") else { throw NumPyFormatError("header has no '\(key)'") }
                // Python keeps the last of a repeated key, a first-match reader the first:
                // the two would read different arrays from one file, so neither is chosen.
                guard text[r.upperBound...].range(of: "'\(key)'") == nil else {
                    throw NumPyFormatError("header names '\(key)' twice")
                }
                var rest = text[r.upperBound...].drop { $0 == " " || $0 == ":" }
                if rest.first == "(" {
                    guard let close = rest.firstIndex(of: ")") else { throw NumPyFormatError("unterminated shape") }
                    return rest[rest.index(after: rest.startIndex)..<close]
                }
                if rest.first == "'" {
                    rest = rest.dropFirst()
                    guard let close = rest.firstIndex(of: "'") else { throw NumPyFormatError("unterminated descr") }
                    return rest[..<close]
                }
                return rest.prefix { $0.isLetter }
            }
            let descr = try value(of: "descr")
            guard descr.count >= 3, let size = Int(descr.dropFirst(2)) else {
                throw NumPyFormatError("unsupported dtype '\(descr)'")
            }
            let order = descr.first
            let code = descr.dropFirst().first
            bigEndian = order == ">"
            itemSize = size
            switch (code, size) {
            case ("f", 4), ("f", 8): kind = .float
            case ("i", 1), ("i", 2), ("i", 4), ("i", 8): kind = .signed
            case ("u", 1), ("u", 2), ("u", 4), ("u", 8), ("b", 1): kind = .unsigned
            default: throw NumPyFormatError("unsupported dtype '\(descr)' (need float or integer)")
            }
            fortranOrder = try value(of: "fortran_order") == "True"
            let dims = try value(of: "shape").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            shape = try dims.map {
                guard let d = Int($0), d >= 0 else { throw NumPyFormatError("bad shape entry '\($0)'") }
                return d
            }
            guard shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) < (1 << 40) else {
                throw NumPyFormatError("shape \(shape) is too large")
            }
        }

        func raw(_ bytes: [UInt8], at offset: Int) -> UInt64 {
            var raw: UInt64 = 0
            for b in 0..<itemSize {
                let byte = UInt64(bytes[offset + (bigEndian ? itemSize - 1 - b : b)])
                raw |= byte << (8 * UInt64(b))
            }
            return raw
        }

        /// An integer element exactly, or nil if it is a float or above `Int64.max`.
        func integer(_ bytes: [UInt8], at offset: Int) -> Int64? {
            let raw = raw(bytes, at: offset)
            switch kind {
            case .float: return nil
            case .unsigned: return Int64(exactly: raw)
            case .signed: return signExtended(raw)
            }
        }

        /// A signed element of `itemSize` bytes, widened to 64 bits.
        func signExtended(_ raw: UInt64) -> Int64 {
            let shift = UInt64(64 - 8 * itemSize)
            return Int64(bitPattern: raw << shift) >> Int64(shift)
        }

        func element(_ bytes: [UInt8], at offset: Int) -> Double {
            let raw = raw(bytes, at: offset)
            switch kind {
            case .float:
                return itemSize == 8 ? Double(bitPattern: raw) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
            case .unsigned:
                return Double(raw)
            case .signed:
                return Double(signExtended(raw))
            }
        }
    }
}
