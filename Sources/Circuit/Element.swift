/// A time-dependent value of an independent source.
public enum Waveform: Sendable, Equatable {
    /// Constant value (V or A).
    case dc(Double)
    /// Piecewise linear: (time s, value) points; `parameterScaled` multiplies every
    /// value after the first by a netlist parameter, so `alterparam` can change it.
    case pwl([(time: Double, value: Double)], parameterScaled: SpiceName?)
    /// ngspice transient noise: DC offset plus white noise of rms `amplitude` (V or A)
    /// redrawn every `step` seconds.
    case transientNoise(dc: Double, amplitude: Double, step: Double)

    public static func == (a: Waveform, b: Waveform) -> Bool {
        switch (a, b) {
        case (.dc(let x), .dc(let y)): x == y
        case (.pwl(let p, let s), .pwl(let q, let t)): s == t && p.count == q.count && zip(p, q).allSatisfy { $0.time == $1.time && $0.value == $1.value }
        case (.transientNoise(let a1, let b1, let c1), .transientNoise(let a2, let b2, let c2)): a1 == a2 && b1 == b2 && c1 == c2
        default: false
        }
    }
}

/// One circuit element. Values are in SI units (Ω, F, V, A, s).
public enum Element: Sendable, Equatable {
    case resistor(SpiceName, SpiceName, SpiceName, ohms: Double)
    case capacitor(SpiceName, SpiceName, SpiceName, farads: Double)
    /// out+ out− ctrl+ ctrl− gain: V(out+, out−) = gain·V(ctrl+, ctrl−).
    case vcvs(SpiceName, SpiceName, SpiceName, SpiceName, SpiceName, gain: Double)
    /// A voltage-controlled current source `G`: g·V(c+, c−) flows through it from the first node to the second.
    case vccs(SpiceName, SpiceName, SpiceName, SpiceName, SpiceName, siemens: Double)
    /// A behavioral voltage source V(n+, n−) = expression. The expression is built by
    /// the mapper from safe names and numbers only.
    case behavioralVoltage(SpiceName, SpiceName, SpiceName, expression: String)
    /// A behavioral current source: `expression` amperes flow from n+ through it to n−.
    case behavioralCurrent(SpiceName, SpiceName, SpiceName, expression: String)
    case voltageSource(SpiceName, SpiceName, SpiceName, Waveform)
    case currentSource(SpiceName, SpiceName, SpiceName, Waveform)
    /// An op-amp: non-inverting input, inverting input, output (model from the circuit).
    case opAmp(SpiceName, plus: SpiceName, minus: SpiceName, output: SpiceName)
    /// An instance of a subcircuit of the circuit, its ports connected to `nodes` in order.
    case instance(SpiceName, nodes: [SpiceName], subcircuit: SpiceName)
    /// A bipolar transistor of a `ModelCard` of the circuit (ngspice's Gummel–Poon model).
    case bjt(SpiceName, collector: SpiceName, base: SpiceName, emitter: SpiceName, model: SpiceName)
    /// A MOSFET of a `ModelCard` of the circuit; width and length in metres.
    case mosfet(SpiceName, drain: SpiceName, gate: SpiceName, source: SpiceName, bulk: SpiceName, model: SpiceName, width: Double, length: Double)

    public var name: SpiceName {
        switch self {
        case .resistor(let n, _, _, _), .capacitor(let n, _, _, _), .vcvs(let n, _, _, _, _, _), .vccs(let n, _, _, _, _, _),
             .behavioralVoltage(let n, _, _, _), .behavioralCurrent(let n, _, _, _), .voltageSource(let n, _, _, _), .currentSource(let n, _, _, _),
             .opAmp(let n, _, _, _), .instance(let n, _, _), .bjt(let n, _, _, _, _), .mosfet(let n, _, _, _, _, _, _, _):
            n
        }
    }
}

/// A component value that cannot be built: the element and the reason.
public struct InvalidElementError: Error, CustomStringConvertible, Equatable {
    public var element: String
    public var reason: String
    public var description: String { "element \(element): \(reason)" }
}

extension Element {
    /// The kind of card, which SPICE puts in front of the name (op-amps are one kind
    /// whatever letter the dialect gives them).
    public var kind: String {
        switch self {
        case .resistor: "R"
        case .capacitor: "C"
        case .vcvs: "E"
        case .vccs: "G"
        case .behavioralVoltage, .behavioralCurrent: "B"
        case .voltageSource: "V"
        case .currentSource: "I"
        case .opAmp: "OPAMP"
        case .instance: "X"
        case .bjt: "Q"
        case .mosfet: "M"
        }
    }

    /// Refuses values no real part has: negative, zero, NaN or infinite R and C,
    /// non-finite gains and source values.
    public func validate() throws {
        func positive(_ x: Double, _ what: String) throws {
            guard x.isFinite, x > 0 else {
                throw InvalidElementError(element: name.text, reason: "\(what) must be positive and finite, got \(x)")
            }
        }
        func finite(_ x: Double, _ what: String) throws {
            guard x.isFinite else { throw InvalidElementError(element: name.text, reason: "\(what) must be finite, got \(x)") }
        }
        switch self {
        case .resistor(_, _, _, let r): try positive(r, "resistance")
        case .capacitor(_, _, _, let c): try positive(c, "capacitance")
        case .vcvs(_, _, _, _, _, let g): try finite(g, "gain")
        case .vccs(_, _, _, _, _, let g): try finite(g, "transconductance")
        case .behavioralVoltage, .behavioralCurrent: break
        case .voltageSource(_, _, _, let w), .currentSource(_, _, _, let w):
            switch w {
            case .dc(let v): try finite(v, "value")
            case .pwl(let points, _):
                for p in points { try finite(p.time, "PWL time"); try finite(p.value, "PWL value") }
            case .transientNoise(let dc, let a, let step):
                try finite(dc, "noise offset")
                try finite(a, "noise amplitude")
                try positive(step, "noise step")
            }
        case .mosfet(_, _, _, _, _, _, let w, let l):
            try positive(w, "width")
            try positive(l, "length")
        case .opAmp, .instance, .bjt: break
        }
    }
}

/// A subcircuit definition: named ports and the elements between them.
public struct Subcircuit: Sendable, Equatable {
    public var name: SpiceName
    public var ports: [SpiceName]
    public var elements: [Element]

    public init(name: SpiceName, ports: [SpiceName], elements: [Element]) {
        self.name = name
        self.ports = ports
        self.elements = elements
    }
}

/// A `.model` card: a device model by name, its SPICE type (NPN, PNP, NMOS, …) and parameters.
public struct ModelCard: Sendable, Equatable {
    public var name: SpiceName
    public var type: String
    public var parameters: [(String, Double)]

    public init(name: SpiceName, type: String, parameters: [(String, Double)]) {
        self.name = name
        self.type = type
        self.parameters = parameters
    }

    public static func == (a: ModelCard, b: ModelCard) -> Bool {
        a.name == b.name && a.type == b.type && a.parameters.count == b.parameters.count && zip(a.parameters, b.parameters).allSatisfy { $0 == $1 }
    }
}
