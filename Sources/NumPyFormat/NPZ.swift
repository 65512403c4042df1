import Foundation
import LinearAlgebra

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

    /// Reads an archive (`ZIPReader`: every offset checked, entries inflated only up to their
    /// declared size, CRC-32 verified, names twice or outside the archive refused). An entry
    /// is read only if three times its declared size fits in `MemoryBudget`: its bytes, their
    /// copy while decoding, and the float64 values they become.
    public init(data: Data) throws {
        let zip = try ZIPReader(data)
        var arrays: [String: NDArray] = [:]
        for entry in zip.entries {
            do { try MemoryBudget.require(MemoryBudget.product([entry.size], scale: 3), for: "entry '\(entry.name)' and its values") } catch let e as LinearAlgebraError {
                throw NumPyFormatError(e.description)
            }
            let payload = try zip.contents(of: entry)
            let name = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
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
