/// An analysis or output directive.
public enum Directive: Sendable, Equatable {
    case operatingPoint
    /// `.tran step stop [start [maxStep]]`, seconds.
    case transient(step: Double, stop: Double, maxStep: Double?)
    /// Save only these node voltages (keeps raw files small).
    case save([SpiceName])
    /// Simulator options, name → value.
    case options([(String, String)])
    /// `.dc source start stop step`: a sweep of an independent source's value.
    case dcSweep(source: SpiceName, start: Double, stop: Double, step: Double)

    public static func == (a: Directive, b: Directive) -> Bool {
        switch (a, b) {
        case (.operatingPoint, .operatingPoint): true
        case (.transient(let s1, let e1, let m1), .transient(let s2, let e2, let m2)): s1 == s2 && e1 == e2 && m1 == m2
        case (.save(let x), .save(let y)): x == y
        case (.options(let x), .options(let y)): x.count == y.count && zip(x, y).allSatisfy { $0 == $1 }
        case (.dcSweep(let a, let b, let c, let d), .dcSweep(let e, let f, let g, let h)): a == e && b == f && c == g && d == h
        default: false
        }
    }
}

/// A circuit: parameters, elements, crossbar arrays (kept compact and expanded into
/// resistors only when written, so a 900 k-element network never sits in memory as
/// element values), directives, and comment lines for the header.
public struct Circuit: Sendable {
    public var title: String
    public var header: [String] = []
    /// `.param name=value` cards (alterable with `alterparam`).
    public var parameters: [(SpiceName, Double)] = []
    public var opAmp: OpAmpModel = .ideal(gain: 1e5)
    public var subcircuits: [Subcircuit] = []
    /// `.model` cards the elements name (transistor models of activation circuits).
    public var models: [ModelCard] = []
    public var elements: [Element] = []
    public var crossbars: [Crossbar] = []
    /// Elements the writer puts in subcircuit instances unless asked for a flat netlist.
    public var groups: [InstanceGroup] = []
    public var directives: [Directive] = []
    /// Verified user lines (see `checkFragment`), written before the directives.
    public var userLines: [String] = []

    public init(title: String) { self.title = sanitizedComment(title) }

    /// Every element, crossbar resistors included, in writing order.
    public func allElements() -> [Element] {
        elements + crossbars.flatMap { $0.elements() }
    }

    /// Number of elements when written (crossbar resistors counted without expanding them).
    public var elementCount: Int { elements.count + crossbars.reduce(0) { $0 + $1.elementCount } }

    /// Checks every value and that no name is used twice (SPICE names are case-insensitive).
    public func validate() throws {
        var seen = Set<String>()
        for e in elements {
            try e.validate()
            guard seen.insert(e.kind + ":" + e.name.text.lowercased()).inserted else {
                throw InvalidElementError(element: e.name.text, reason: "name used twice")
            }
        }
        for c in crossbars { try c.validate() }
        var definitions: [String: Int] = [:]
        for sub in subcircuits {
            guard definitions.updateValue(sub.ports.count, forKey: sub.name.text.lowercased()) == nil else {
                throw InvalidElementError(element: ".subckt \(sub.name)", reason: "defined twice")
            }
            var inner = Set<String>()
            for e in sub.elements {
                try e.validate()
                guard inner.insert(e.kind + ":" + e.name.text.lowercased()).inserted else {
                    throw InvalidElementError(element: "\(sub.name).\(e.name)", reason: "name used twice")
                }
            }
        }
        for case .instance(let name, let nodes, let subcircuit) in elements {
            guard let ports = definitions[subcircuit.text.lowercased()] else {
                throw InvalidElementError(element: name.text, reason: "no subcircuit named \(subcircuit)")
            }
            guard ports == nodes.count else {
                throw InvalidElementError(element: name.text, reason: "\(subcircuit) has \(ports) ports, \(nodes.count) nodes given")
            }
        }
        for (name, value) in parameters where !value.isFinite {
            throw InvalidElementError(element: ".param \(name)", reason: "value must be finite, got \(value)")
        }
        switch opAmp {
        case .ideal(let a):
            guard a.isFinite, a > 0 else { throw InvalidElementError(element: "op-amp model", reason: "gain must be positive and finite, got \(a)") }
        case .singlePole(let a, let gbw, let rail):
            guard a.isFinite, a > 0, gbw.isFinite, gbw > 0, rail.isFinite, rail >= 0 else {
                throw InvalidElementError(element: "op-amp model", reason: "gain and GBW must be positive and finite, rail ≥ 0")
            }
        case .macromodel(let m):
            if let (key, reason) = m.problem { throw InvalidElementError(element: "circuit.opamp.\(key)", reason: reason) }
        case .cmosTwoStage(let o):
            if let (key, reason) = o.problem { throw InvalidElementError(element: "circuit.opamp.\(key)", reason: reason) }
        }
    }
}
