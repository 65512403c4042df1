import CGzip
import Foundation

/// Writes a ZIP archive of stored (uncompressed) entries in one pass, as `numpy.savez` does.
///
/// ZIPFoundation's in-memory archive rewrote its buffer for every entry added: an `.npz` of
/// the 40 001 vectors of a 40 000-resistor netlist took 6 s, of 300 000 vectors minutes. Here
/// each entry is appended once (local header, data), the central directory at the end, so
/// the cost is linear in the archive's size. More than 65 535 entries get the ZIP64 end
/// records (Python's zipfile, NumPy and `ZIPReader` read them); an archive past 4 GiB is
/// refused, since its offsets would need ZIP64 fields in every entry.
enum ZIPWriter {
    /// 1980-01-01 00:00 in MS-DOS form, ZIP's earliest date: equal arrays give equal files.
    static let dosTime: UInt16 = 0
    static let dosDate: UInt16 = (1 << 5) | 1

    static func archive(_ entries: [(name: String, data: Data)]) throws -> Data {
        var out = Data()
        var central = Data()
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = entry.data.withUnsafeBytes { p in UInt32(crc32(0, p.bindMemory(to: UInt8.self).baseAddress, uInt(p.count))) }
            guard out.count <= Int(UInt32.max), entry.data.count <= Int(UInt32.max) else {
                throw NumPyFormatError("the archive would exceed 4 GiB, which this writer does not support")
            }
            let offset = UInt32(out.count), size = UInt32(entry.data.count)
            // Local file header.
            out.append(le32: 0x0403_4b50); out.append(le16: 20); out.append(le16: 0); out.append(le16: 0)
            out.append(le16: dosTime); out.append(le16: dosDate); out.append(le32: crc)
            out.append(le32: size); out.append(le32: size); out.append(le16: UInt16(name.count)); out.append(le16: 0)
            out.append(contentsOf: name)
            out.append(entry.data)
            // Its central directory record: made by Unix (3), a regular file rw-r--r--.
            central.append(le32: 0x0201_4b50); central.append(le16: 0x0314); central.append(le16: 20)
            central.append(le16: 0); central.append(le16: 0); central.append(le16: dosTime); central.append(le16: dosDate)
            central.append(le32: crc); central.append(le32: size); central.append(le32: size)
            central.append(le16: UInt16(name.count)); central.append(le16: 0); central.append(le16: 0)
            central.append(le16: 0); central.append(le16: 0); central.append(le32: UInt32(0o100644) << 16)
            central.append(le32: offset)
            central.append(contentsOf: name)
        }
        let centralOffset = out.count
        guard centralOffset + central.count <= Int(UInt32.max) else {
            throw NumPyFormatError("the archive would exceed 4 GiB, which this writer does not support")
        }
        out.append(central)
        let count = entries.count
        if count > 0xFFFF {
            // ZIP64 end of central directory record, then its locator.
            let zip64Offset = out.count
            out.append(le32: 0x0606_4b50); out.append(le64: 44); out.append(le16: 45); out.append(le16: 45)
            out.append(le32: 0); out.append(le32: 0)
            out.append(le64: UInt64(count)); out.append(le64: UInt64(count))
            out.append(le64: UInt64(central.count)); out.append(le64: UInt64(centralOffset))
            out.append(le32: 0x0706_4b50); out.append(le32: 0); out.append(le64: UInt64(zip64Offset)); out.append(le32: 1)
        }
        let shortCount = UInt16(min(count, 0xFFFF))
        out.append(le32: 0x0605_4b50); out.append(le16: 0); out.append(le16: 0)
        out.append(le16: shortCount); out.append(le16: shortCount)
        out.append(le32: UInt32(central.count)); out.append(le32: UInt32(centralOffset)); out.append(le16: 0)
        return out
    }
}

extension Data {
    mutating func append(le16 v: UInt16) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func append(le32 v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func append(le64 v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}
