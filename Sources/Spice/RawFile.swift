import Foundation
import LinearAlgebra

/// Why a raw file could not be read.
public struct RawFileError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
}

/// One plot of a SPICE raw file: named real vectors of equal length (one point per
/// operating point, or per time step of a transient).
public struct RawPlot: Sendable {
    public var title: String
    public var name: String
    /// Vector names as ngspice writes them (`time`, `v(l1_n0_soma)`), lower-cased.
    public var names: [String]
    /// `values[k]` is vector k over all points.
    public var values: [[Double]]

    public var points: Int { values.first?.count ?? 0 }

    public init(title: String, name: String, names: [String], values: [[Double]]) {
        self.title = title
        self.name = name
        self.names = names.map(RawPlot.normalized)
        self.values = values
    }

    /// Vector names compare lower-cased; raw files write node voltages as `v(node)`,
    /// the shared library as `node`, and `vector(_:)` accepts either.
    static func normalized(_ name: String) -> String { name.lowercased() }

    /// The vector called `name` (case-insensitive; `v(x)` and `x` both match a node voltage).
    public func vector(_ name: String) -> [Double]? {
        let key = name.lowercased()
        if let k = names.firstIndex(of: key) { return values[k] }
        if let k = names.firstIndex(of: "v(\(key))") { return values[k] }
        if key.hasPrefix("v("), key.hasSuffix(")"), let k = names.firstIndex(of: String(key.dropFirst(2).dropLast())) { return values[k] }
        return nil
    }
}

/// Reads ngspice raw files, binary or ASCII, with one or more plots.
public enum RawFile {
    public static func read(path: String) throws -> [RawPlot] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RawFileError(message: "\(path): cannot read the raw file")
        }
        return try parse(data)
    }

    public static func parse(_ data: Data) throws -> [RawPlot] {
        let bytes = [UInt8](data)
        var position = 0
        var plots: [RawPlot] = []
        func line() -> String? {
            guard position < bytes.count else { return nil }
            var end = position
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let text = String(decoding: bytes[position..<end], as: UTF8.self)
            position = min(bytes.count, end + 1)
            return text
        }
        while position < bytes.count {
            var title = "", name = "", variables = 0, points = 0, complex = false
            var names: [String] = []
            var header = true
            while header, let l = line() {
                let trimmed = l.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard let colon = trimmed.firstIndex(of: ":") else { continue }
                let key = trimmed[..<colon].lowercased()
                let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch key {
                case "title": title = value
                case "plotname": name = value
                case "flags": complex = value.lowercased().contains("complex")
                case "no. variables", "no. points":
                    guard let n = Int(value), n >= 0 else { throw RawFileError(message: "bad count '\(value.prefix(40))' for \(key)") }
                    if key == "no. points" { points = n } else { variables = n }
                case "variables":
                    guard names.isEmpty else { throw RawFileError(message: "plot '\(name)' lists its variables twice") }
                    for _ in 0..<variables {
                        guard let v = line() else { throw RawFileError(message: "truncated variable list") }
                        let parts = v.split(whereSeparator: { $0 == " " || $0 == "\t" })
                        guard parts.count >= 2 else { throw RawFileError(message: "bad variable line '\(v)'") }
                        names.append(parts[1].lowercased())
                    }
                case "binary", "values":
                    header = false
                    guard !complex else { throw RawFileError(message: "complex plots are not supported") }
                    guard variables > 0 else { throw RawFileError(message: "plot '\(name)' has no variables") }
                    guard names.count == variables else {
                        throw RawFileError(message: "plot '\(name)' declares \(variables) variables and lists \(names.count)")
                    }
                    // Counts come from the file: multiplied with overflow checks and held to
                    // the memory budget before the vectors are allocated.
                    guard let need = MemoryBudget.product([points, variables], scale: 8) else {
                        throw RawFileError(message: "plot '\(name)': \(points) points × \(variables) vectors overflow")
                    }
                    do { try MemoryBudget.require(need, for: "plot '\(name)' (\(points) points × \(variables) vectors)") } catch let e as LinearAlgebraError {
                        throw RawFileError(message: e.description)
                    }
                    // The file must hold the values before room is made for them.
                    let available = bytes.count - position
                    guard key == "binary" ? need <= available : need / 4 <= available else {
                        throw RawFileError(message: "truncated \(key == "binary" ? "binary" : "ASCII") data in plot '\(name)' (\(points) points × \(variables) vectors)")
                    }
                    var values = Array(repeating: [Double](repeating: 0, count: points), count: variables)
                    if key == "binary" {
                        bytes.withUnsafeBytes { raw in
                            for p in 0..<points {
                                for v in 0..<variables {
                                    let bits = raw.loadUnaligned(fromByteOffset: position + (p * variables + v) * 8, as: UInt64.self)
                                    values[v][p] = Double(bitPattern: UInt64(littleEndian: bits))
                                }
                            }
                        }
                        position += need
                    } else {
                        // ASCII (checked above): at least a line of two bytes per value.
                        for p in 0..<points {
                            for v in 0..<variables {
                                guard let l = line() else { throw RawFileError(message: "truncated ASCII data in plot '\(name)'") }
                                let fields = l.split(whereSeparator: { $0 == " " || $0 == "\t" })
                                guard let last = fields.last, let x = Double(last) else {
                                    throw RawFileError(message: "bad ASCII value '\(l)' in plot '\(name)'")
                                }
                                values[v][p] = x
                            }
                        }
                    }
                    plots.append(RawPlot(title: title, name: name, names: names, values: values))
                default: break
                }
            }
            if header { break }
        }
        guard !plots.isEmpty else { throw RawFileError(message: "no plots in the raw file") }
        return plots
    }
}
