extension Element {
    /// Every node the element touches, in card order; a behavioral source's expression
    /// nodes (`V(name)`) follow its two terminals.
    public var nodes: [SpiceName] {
        switch self {
        case .resistor(_, let a, let b, _), .capacitor(_, let a, let b, _),
             .voltageSource(_, let a, let b, _), .currentSource(_, let a, let b, _):
            [a, b]
        case .vcvs(_, let op, let on, let cp, let cn, _), .vccs(_, let op, let on, let cp, let cn, _): [op, on, cp, cn]
        case .behavioralVoltage(_, let a, let b, let expression), .behavioralCurrent(_, let a, let b, let expression):
            [a, b] + Self.expressionNodes(expression)
        case .opAmp(_, let plus, let minus, let output): [plus, minus, output]
        case .instance(_, let nodes, _): nodes
        case .bjt(_, let c, let b, let e, _): [c, b, e]
        case .mosfet(_, let d, let g, let s, let b, _, _, _): [d, g, s, b]
        }
    }

    /// The same element with another name and every node passed through `map`, expression
    /// nodes included.
    public func renamed(_ name: SpiceName, nodes map: (SpiceName) -> SpiceName) -> Element {
        switch self {
        case .resistor(_, let a, let b, let r): .resistor(name, map(a), map(b), ohms: r)
        case .capacitor(_, let a, let b, let c): .capacitor(name, map(a), map(b), farads: c)
        case .vcvs(_, let op, let on, let cp, let cn, let g): .vcvs(name, map(op), map(on), map(cp), map(cn), gain: g)
        case .vccs(_, let op, let on, let cp, let cn, let g): .vccs(name, map(op), map(on), map(cp), map(cn), siemens: g)
        case .behavioralVoltage(_, let a, let b, let expression):
            .behavioralVoltage(name, map(a), map(b), expression: Self.mapExpressionNodes(expression, map))
        case .behavioralCurrent(_, let a, let b, let expression):
            .behavioralCurrent(name, map(a), map(b), expression: Self.mapExpressionNodes(expression, map))
        case .voltageSource(_, let a, let b, let w): .voltageSource(name, map(a), map(b), w)
        case .currentSource(_, let a, let b, let w): .currentSource(name, map(a), map(b), w)
        case .opAmp(_, let plus, let minus, let output): .opAmp(name, plus: map(plus), minus: map(minus), output: map(output))
        case .instance(_, let nodes, let sub): .instance(name, nodes: nodes.map(map), subcircuit: sub)
        case .bjt(_, let c, let b, let e, let model): .bjt(name, collector: map(c), base: map(b), emitter: map(e), model: model)
        case .mosfet(_, let d, let g, let s, let b, let model, let w, let l):
            .mosfet(name, drain: map(d), gate: map(g), source: map(s), bulk: map(b), model: model, width: w, length: l)
        }
    }

    /// The nodes `V(name)` an expression reads (the mapper writes nodes only that way).
    static func expressionNodes(_ expression: String) -> [SpiceName] {
        var out: [SpiceName] = []
        _ = mapExpressionNodes(expression) { out.append($0); return $0 }
        return out
    }

    /// Rewrites each `V(name)` of an expression; names are `SpiceName`s, so the scan is exact.
    static func mapExpressionNodes(_ expression: String, _ map: (SpiceName) -> SpiceName) -> String {
        var out = ""
        var rest = Substring(expression)
        while let open = rest.range(of: "V(") {
            out += rest[..<open.upperBound]
            rest = rest[open.upperBound...]
            guard let close = rest.firstIndex(of: ")") else { break }
            let inner = String(rest[..<close])
            if let name = inner == "0" ? SpiceName.ground : SpiceName(exactly: inner) {
                out += map(name).text
            } else {
                out += inner
            }
            rest = rest[close...]
        }
        return out + rest
    }
}
