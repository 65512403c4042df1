import Foundation
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

    public init(data: Data) throws {
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch {
            throw NumPyFormatError("not a .npz (ZIP) archive")
        }
        var arrays: [String: NDArray] = [:]
        for entry in archive where entry.type == .file {
            var payload = Data()
            do {
                _ = try archive.extract(entry) { payload.append($0) }
            } catch {
                throw NumPyFormatError("entry '\(entry.path)' is corrupt: \(error)")
            }
            let name = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
            do { arrays[name] = try NPY.decode(payload) } catch let e as NumPyFormatError {
                throw NumPyFormatError("array '\(name)': \(e.message)")
            }
        }
        self.arrays = arrays
    }

    /// The archive as bytes (stored entries, fixed timestamps so equal arrays give equal files).
    public func encoded() throws -> Data {
        let archive = try Archive(accessMode: .create)
        let epoch = Date(timeIntervalSince1970: 315_532_800) // 1980-01-01, ZIP's earliest date
        for name in arrays.keys.sorted() {
            let payload = NPY.encode(arrays[name]!)
            try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(payload.count),
                                 modificationDate: epoch, compressionMethod: .none) { position, size in
                payload.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        guard let data = archive.data else { throw NumPyFormatError("could not build archive") }
        return data
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
