import Foundation
import LinearAlgebra
import ZIPFoundation

/// A `.npz` archive: named arrays, each stored as `name.npy` in a ZIP file
/// (what `numpy.savez` writes; `savez_compressed`'s deflated entries are read too).
public struct NPZ: Sendable, Equatable {
    public var arrays: [String: NDArray]

    public init(_ arrays: [String: NDArray] = [:]) { self.arrays = arrays }

    public subscript(name: String) -> NDArray? {
        get { arrays[name] }
        set { arrays[name] = newValue }
    }

    /// Reads an archive from disk.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw NumPyFormatError("file not found")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw NumPyFormatError("cannot read: \(error.localizedDescription)") }
        try self.init(data: data)
    }

    /// Reads an archive, refusing what NumPy refuses and what could exhaust memory: entry
    /// names twice or outside the archive (`..`, `/…`), an entry larger than `MemoryBudget`
    /// allows or whose `.npy` header disagrees with its declared size (checked on the first
    /// inflated bytes, before the rest is inflated), more bytes than declared, and a CRC-32
    /// that does not match.
    public init(data: Data) throws {
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch {
            throw NumPyFormatError("not a .npz (ZIP) archive")
        }
        var arrays: [String: NDArray] = [:]
        var seen = Set<String>()
        for entry in archive where entry.type == .file {
            let path = entry.path
            guard seen.insert(path).inserted else { throw NumPyFormatError("entry '\(path)' appears twice") }
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw NumPyFormatError("entry '\(path)' names a path outside the archive")
            }
            let declared = entry.uncompressedSize
            guard declared <= UInt64(Int.max) else { throw NumPyFormatError("entry '\(path)' declares \(declared) bytes") }
            do { try MemoryBudget.require(Int(declared), for: "entry '\(path)'") } catch let e as LinearAlgebraError {
                throw NumPyFormatError(e.description)
            }
            var payload = Data()
            var headerChecked = false
            let checksum: UInt32
            do {
                checksum = try archive.extract(entry) { chunk in
                    payload.append(chunk)
                    guard UInt64(payload.count) <= declared else {
                        throw NumPyFormatError("entry '\(path)' inflates to more than the \(declared) bytes it declares")
                    }
                    if !headerChecked, let needed = try NPY.encodedLength(prefix: payload) {
                        headerChecked = true
                        guard UInt64(needed) == declared else {
                            throw NumPyFormatError("entry '\(path)': its .npy header describes \(needed) bytes, the entry declares \(declared)")
                        }
                        do { try MemoryBudget.require(MemoryBudget.sum([needed, Int(declared)]), for: "entry '\(path)' as float64") } catch let e as LinearAlgebraError {
                            throw NumPyFormatError(e.description)
                        }
                    }
                }
            } catch let e as NumPyFormatError {
                throw e
            } catch {
                throw NumPyFormatError("entry '\(path)' is corrupt: \(error)")
            }
            guard UInt64(payload.count) == declared else {
                throw NumPyFormatError("entry '\(path)' is truncated: \(payload.count) of \(declared) bytes")
            }
            guard checksum == entry.checksum else {
                throw NumPyFormatError("entry '\(path)' is corrupt: CRC-32 \(String(checksum, radix: 16)) does not match the recorded \(String(entry.checksum, radix: 16))")
            }
            let name = path.hasSuffix(".npy") ? String(path.dropLast(4)) : path
            do { arrays[name] = try NPY.decode(payload) } catch let e as NumPyFormatError {
                throw NumPyFormatError("array '\(name)': \(e.message)")
            }
        }
        self.arrays = arrays
    }

    /// The archive as bytes: stored entries in name order with fixed timestamps, so equal
    /// arrays give equal files (`ZIPWriter`).
    public func encoded() throws -> Data {
        try ZIPWriter.archive(arrays.keys.sorted().compactMap { name in arrays[name].map { (name + ".npy", NPY.encode($0)) } })
    }

    /// Writes atomically: a temporary file beside `url`, then a rename.
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }
}

extension NDArray {
    /// Reads a single `.npy` file.
    public init(npyContentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw NumPyFormatError("file not found") }
        self = try NPY.decode(try Data(contentsOf: url))
    }

    /// Writes a single `.npy` file atomically.
    public func writeNPY(to url: URL) throws {
        try AtomicFile.write(NPY.encode(self), to: url)
    }
}
