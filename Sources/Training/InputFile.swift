import Foundation

/// Text a user hands a command (a config, a netlist), read only once its kind and size are
/// known: `/dev/zero`, a FIFO or a 10 GB file must not be read to find out what it is.
public enum InputFile {
    /// The file's text. Refused: a missing path, anything but a regular file (symbolic
    /// links followed), more than `maxBytes` bytes when given (`limitReason` says whose limit,
    /// or `check`, given the size, throws its own refusal), and text that is not UTF-8.
    public static func text(path: String, maxBytes: Int? = nil, limitReason: String = "", check: (UInt64) throws -> Void = { _ in }) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "file not found") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular, let size = attributes?[.size] as? UInt64 else {
            throw InputError(file: path, "is not a regular file")
        }
        if let maxBytes, size > UInt64(maxBytes) { throw InputError(file: path, "\(size) bytes; \(limitReason) may have at most \(maxBytes)") }
        try check(size)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError(file: path, "cannot read the file as UTF-8 text")
        }
        return text
    }
}
