import Foundation

/// Whole-file writes that never leave a half-written file behind: the bytes go
/// to a temporary file in the same directory (so the rename stays on one file
/// system) and are renamed over the target only once complete.
public enum AtomicFile {
    /// Why `url` must not be replaced, or nil: an existing node that is neither a regular
    /// file nor a symbolic link (a device, directory, FIFO or socket) would be renamed over
    /// and lost; run as root, `--out /dev/full` destroyed the device node that way.
    public static func unwritableReason(_ url: URL) -> String? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return nil }   // a new path
        switch info.st_mode & S_IFMT {
        case S_IFREG, S_IFLNK: return nil
        case S_IFDIR: return "is a directory, not a file"
        default: return "exists and is not a regular file (a device, FIFO or socket); refusing to replace it"
        }
    }

    public static func write(_ data: Data, to url: URL) throws {
        if let reason = unwritableReason(url) { throw NumPyFormatError("\(url.path) \(reason)") }
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NumPyFormatError("directory \(directory.path) does not exist")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                throw NumPyFormatError("cannot rename into \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let e = error as? NumPyFormatError { throw e }
            throw NumPyFormatError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}
