import CGzip
import Foundation
import LinearAlgebra

/// Reads the entries of a ZIP archive held in memory: stored and deflated entries, ZIP64
/// end records and size fields (NumPy writes every `.npz` entry with `force_zip64`).
///
/// Written for hostile input, after fuzzing found ZIPFoundation trapping on a shuffled
/// archive (a range with lowerBound > upperBound in its memory-file reader): every offset
/// and size read from the file is checked against the bytes there before it is used, an
/// entry is inflated only up to the size it declares and only if `MemoryBudget` allows it,
/// and its CRC-32 must match. Names twice or outside the archive are refused.
struct ZIPReader {
    struct Entry {
        var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeader: Int
    }

    let bytes: [UInt8]
    private(set) var entries: [Entry] = []

    init(_ data: Data) throws {
        bytes = [UInt8](data)
        let end = try Self.endRecord(bytes)
        var count = Int(le16(end + 10)), directorySize = Int(le32(end + 12)), directoryOffset = Int(le32(end + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // The ZIP64 locator sits just before the end record and points at the ZIP64 record.
            let locator = end - 20
            guard locator >= 0, le32(locator) == 0x0706_4b50 else { throw Self.bad("a ZIP64 field without its locator") }
            let record = try offset(le64(locator + 8))
            guard record + 56 <= bytes.count, le32(record) == 0x0606_4b50 else { throw Self.bad("a broken ZIP64 end record") }
            count = try offset(le64(record + 32))
            directorySize = try offset(le64(record + 40))
            directoryOffset = try offset(le64(record + 48))
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw Self.bad("the central directory lies outside the file")
        }
        // Each record takes 46 bytes at least: a count beyond that is a lie, not a reason to reserve.
        guard count <= directorySize / 46 else { throw Self.bad("\(count) entries cannot fit in a \(directorySize)-byte directory") }
        var at = directoryOffset
        var seen = Set<String>()
        for _ in 0..<count {
            guard at + 46 <= directoryOffset + directorySize, le32(at) == 0x0201_4b50 else { throw Self.bad("a broken central directory record") }
            let flags = le16(at + 8), method = le16(at + 10)
            let nameLength = Int(le16(at + 28)), extraLength = Int(le16(at + 30)), commentLength = Int(le16(at + 32))
            let next = at + 46 + nameLength + extraLength + commentLength
            guard next <= directoryOffset + directorySize else { throw Self.bad("a central directory record runs past the directory") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            guard flags & 1 == 0 else { throw NumPyFormatError("entry '\(name)' is encrypted") }
            var compressed = UInt64(le32(at + 20)), size = UInt64(le32(at + 24)), local = UInt64(le32(at + 42))
            // ZIP64 extended information: present fields in the order size, compressed, offset.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = le16(extra), length = Int(le16(extra + 2))
                guard extra + 4 + length <= extraEnd else { throw Self.bad("entry '\(name)' has a broken extra field") }
                if id == 0x0001 {
                    var field = extra + 4
                    func next64() throws -> UInt64 {
                        guard field + 8 <= extra + 4 + length else { throw Self.bad("entry '\(name)' has a short ZIP64 field") }
                        defer { field += 8 }
                        return le64(field)
                    }
                    if size == 0xFFFF_FFFF { size = try next64() }
                    if compressed == 0xFFFF_FFFF { compressed = try next64() }
                    if local == 0xFFFF_FFFF { local = try next64() }
                }
                extra += 4 + length
            }
            guard seen.insert(name).inserted else { throw NumPyFormatError("entry '\(name)' appears twice") }
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw NumPyFormatError("entry '\(name)' names a path outside the archive")
            }
            guard !name.hasSuffix("/") else { at = next; continue }   // a directory entry
            entries.append(Entry(name: name, method: method, crc: le32(at + 16), compressedSize: try offset(compressed),
                                 size: try declared(size), localHeader: try offset(local)))
            at = next
        }
    }

    /// The entry's bytes, inflated and checked.
    func contents(of entry: Entry) throws -> Data {
        let local = entry.localHeader
        guard local + 30 <= bytes.count, le32(local) == 0x0403_4b50 else { throw NumPyFormatError("entry '\(entry.name)': broken local header") }
        let start = local + 30 + Int(le16(local + 26)) + Int(le16(local + 28))
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw NumPyFormatError("entry '\(entry.name)' runs past the end of the file")
        }
        do { try MemoryBudget.require(entry.size, for: "entry '\(entry.name)'") } catch let e as LinearAlgebraError {
            throw NumPyFormatError(e.description)
        }
        let payload: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else { throw NumPyFormatError("entry '\(entry.name)': stored, but its sizes differ") }
            payload = Array(bytes[start..<(start + entry.size)])
        case 8:
            payload = try inflate(bytes[start..<(start + entry.compressedSize)], size: entry.size, name: entry.name)
        default:
            throw NumPyFormatError("entry '\(entry.name)': compression method \(entry.method) is not supported (stored or deflated only)")
        }
        let crc = payload.withUnsafeBufferPointer { p in UInt32(crc32(0, p.baseAddress, uInt(p.count))) }
        guard crc == entry.crc else {
            throw NumPyFormatError("entry '\(entry.name)' is corrupt: CRC-32 \(String(crc, radix: 16)) does not match the recorded \(String(entry.crc, radix: 16))")
        }
        return Data(payload)
    }

    /// Raw deflate into exactly `size` bytes: more is refused as it appears, fewer at the end.
    private func inflate(_ input: ArraySlice<UInt8>, size: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size)
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NumPyFormatError("entry '\(name)': zlib would not start")
        }
        defer { inflateEnd(&stream) }
        var input = Array(input)
        var status: Int32 = Z_OK
        var probe = [UInt8](repeating: 0, count: 1)
        try input.withUnsafeMutableBufferPointer { src in
            try output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                status = CGzip.inflate(&stream, Z_FINISH)
                if status == Z_BUF_ERROR && stream.avail_out == 0 {
                    // Full, but the stream goes on: one byte more says whether it lies.
                    try probe.withUnsafeMutableBufferPointer { p in
                        stream.next_out = p.baseAddress
                        stream.avail_out = 1
                        status = CGzip.inflate(&stream, Z_FINISH)
                        if stream.avail_out == 0 { throw NumPyFormatError("entry '\(name)' inflates to more than the \(size) bytes it declares") }
                    }
                }
            }
        }
        guard status == Z_STREAM_END else {
            throw NumPyFormatError(stream.total_out < UInt(size) && status == Z_BUF_ERROR
                ? "entry '\(name)' is truncated: \(stream.total_out) of \(size) bytes"
                : "entry '\(name)' is corrupt: deflate data error (zlib status \(status))")
        }
        guard stream.total_out == UInt(size) else { throw NumPyFormatError("entry '\(name)' is truncated: \(stream.total_out) of \(size) bytes") }
        return output
    }

    private static func endRecord(_ bytes: [UInt8]) throws -> Int {
        guard bytes.count >= 22 else { throw NumPyFormatError("not a .npz (ZIP) archive") }
        // The end record is the last 22 bytes plus a comment of at most 65 535.
        var at = bytes.count - 22
        let stop = max(0, bytes.count - 22 - 0xFFFF)
        while at >= stop {
            if bytes[at] == 0x50, bytes[at + 1] == 0x4b, bytes[at + 2] == 0x05, bytes[at + 3] == 0x06 { return at }
            at -= 1
        }
        throw NumPyFormatError("not a .npz (ZIP) archive")
    }

    private static func bad(_ what: String) -> NumPyFormatError { NumPyFormatError("not a readable .npz (ZIP) archive: \(what)") }

    private func offset(_ v: UInt64) throws -> Int {
        guard v <= UInt64(bytes.count) else { throw Self.bad("an offset or size of \(v) bytes in a \(bytes.count)-byte file") }
        return Int(v)
    }

    /// A declared inflated size may exceed the file; only the memory budget bounds it.
    private func declared(_ v: UInt64) throws -> Int {
        guard v <= UInt64(Int.max) else { throw Self.bad("a size of \(v) bytes") }
        return Int(v)
    }

    private func le16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    private func le32(_ at: Int) -> UInt32 { UInt32(le16(at)) | UInt32(le16(at + 2)) << 16 }
    private func le64(_ at: Int) -> UInt64 { UInt64(le32(at)) | UInt64(le32(at + 4)) << 32 }
}
