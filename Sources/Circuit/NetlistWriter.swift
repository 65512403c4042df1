import Foundation

/// Where netlist text goes. Lines are written one at a time so that a netlist of
/// any size passes through a fixed-size buffer.
public protocol TextSink {
    mutating func write(_ line: String) throws
}

/// Collects the text in memory (tests, small circuits).
public struct StringSink: TextSink {
    public private(set) var text = ""
    public init() {}
    public mutating func write(_ line: String) { text += line; text += "\n" }
}

/// Writes to a temporary file beside the target through a 256 KiB buffer and renames
/// it into place on `finish()`; `discard()` (or deinit without `finish`) removes it.
public final class FileSink: TextSink {
    let target: URL
    let temporary: URL
    let handle: FileHandle
    var buffer = Data()
    var finished = false

    public init(path: String) throws {
        target = URL(fileURLWithPath: path)
        let dir = target.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw InvalidElementError(element: path, reason: "output directory \(dir.path) does not exist")
        }
        temporary = dir.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let h = FileHandle(forWritingAtPath: temporary.path) else {
            throw InvalidElementError(element: path, reason: "cannot create a file in \(dir.path)")
        }
        handle = h
        buffer.reserveCapacity(1 << 18)
    }

    public func write(_ line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 18 { try flush() }
    }

    func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    public func finish() throws {
        try flush()
        try handle.close()
        guard rename(temporary.path, target.path) == 0 else {
            throw InvalidElementError(element: target.path, reason: "cannot rename into place: \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    public func discard() {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
        finished = true
    }

    deinit { if !finished { discard() } }
}

/// A SPICE dialect: how each card is spelled. The driver `write(_:to:)` is shared,
/// so a new dialect (Xyce, LTspice) only states its spellings and the mapper never changes.
public protocol NetlistDialect {
    /// The netlist line(s) of one element; `opAmp` tells how amplifiers are built, and every
    /// value passes through `number` (the hierarchical writer turns values into parameters there).
    func lines(for element: Element, opAmp: OpAmpModel, number: (Double) -> String) -> [String]
    /// How a value is spelled.
    func number(_ x: Double) -> String
    /// Subcircuit definitions the op-amp model needs, written once before the elements.
    func definitions(for opAmp: OpAmpModel) -> [String]
    /// A `.model` card.
    func modelCard(_ card: ModelCard) -> String
    func line(for directive: Directive) -> [String]
    func subcircuitHeader(_ s: Subcircuit) -> String
    func subcircuitEnd(_ s: Subcircuit) -> String
    func parameter(_ name: SpiceName, _ value: Double) -> String
    func comment(_ text: String) -> String
    var end: String { get }
    /// Nets a subcircuit call may have; a wider crossbar is written as tiles of `tileSize` cells.
    var maxSubcircuitPorts: Int { get }
    var tileSize: Int { get }
}

extension NetlistDialect {
    public func lines(for element: Element, opAmp: OpAmpModel) -> [String] {
        lines(for: element, opAmp: opAmp, number: number)
    }

    /// Writes `circuit` after validating it; nothing is written for an invalid circuit.
    /// Unless `flat`, groups of elements become subcircuit instances (see `writeHierarchical`).
    public func write(_ circuit: Circuit, to sink: inout some TextSink, flat: Bool = false) throws {
        try circuit.validate()
        if !flat { return try writeHierarchical(circuit, to: &sink) }
        try sink.write(sanitizedComment(circuit.title))
        for h in circuit.header { for line in wrappedComment(h) { try sink.write(comment(line)) } }
        for (name, value) in circuit.parameters { try sink.write(parameter(name, value)) }
        for l in definitions(for: circuit.opAmp) { try sink.write(l) }
        for m in circuit.models { try sink.write(modelCard(m)) }
        for sub in circuit.subcircuits {
            try sink.write(subcircuitHeader(sub))
            for e in sub.elements {
                for l in lines(for: e, opAmp: circuit.opAmp) { try sink.write(l) }
            }
            try sink.write(subcircuitEnd(sub))
        }
        for e in circuit.elements {
            for l in lines(for: e, opAmp: circuit.opAmp) { try sink.write(l) }
        }
        for c in circuit.crossbars {
            try sink.write(comment("crossbar \(c.prefix): \(c.rows.count) rows × \(c.plusLines.count) columns, differential pairs"))
            try c.forEachElement { e in
                for l in lines(for: e, opAmp: circuit.opAmp) { try sink.write(l) }
            }
        }
        for l in circuit.userLines { try sink.write(l) }
        for d in circuit.directives {
            for l in line(for: d) { try sink.write(l) }
        }
        try sink.write(end)
    }

    /// The whole netlist as text.
    public func text(_ circuit: Circuit, flat: Bool = false) throws -> String {
        var sink = StringSink()
        try write(circuit, to: &sink, flat: flat)
        return sink.text
    }

    /// Writes the netlist to `path` atomically.
    public func write(_ circuit: Circuit, toFile path: String, flat: Bool = false) throws {
        var sink = try FileSink(path: path)
        do {
            try write(circuit, to: &sink, flat: flat)
            try sink.finish()
        } catch {
            sink.discard()
            throw error
        }
    }
}
