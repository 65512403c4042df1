/// The ngspice dialect. Element names get their type letter here (R, C, E, B, V, I,
/// and E or X for op-amps), so the mapper's names stay dialect-free.
public struct NgspiceDialect: NetlistDialect {
    /// ngspice-39 keeps a subcircuit call's net names in a table of 1005 entries (`N_GLOBAL_NODES`
    /// in its subckt.c) and stops with "N_GLOBAL_NODES overflow" beyond; a 784×256 array has 1 826.
    public var maxSubcircuitPorts = 1000
    /// Rows and columns of a tile of a crossbar too wide for one subcircuit.
    public var tileSize = 64

    public init() {}

    /// A dialect with another subcircuit limit and tile size (tests make small arrays tile).
    public init(maxSubcircuitPorts: Int, tileSize: Int) {
        self.maxSubcircuitPorts = maxSubcircuitPorts
        self.tileSize = tileSize
    }

    /// How values are written: engineering notation, nine significant digits (`100.003k`),
    /// deterministic, so golden files are stable (see `engineering`).
    public static func number(_ x: Double) -> String { engineering(x) }

    public func lines(for element: Element, opAmp: OpAmpModel, number n: (Double) -> String) -> [String] {
        switch element {
        case .resistor(let name, let a, let b, let ohms): return ["R\(name) \(a) \(b) \(n(ohms))"]
        case .capacitor(let name, let a, let b, let farads): return ["C\(name) \(a) \(b) \(n(farads))"]
        case .vcvs(let name, let op, let on, let cp, let cn, let gain): return ["E\(name) \(op) \(on) \(cp) \(cn) \(n(gain))"]
        case .vccs(let name, let op, let on, let cp, let cn, let g): return ["G\(name) \(op) \(on) \(cp) \(cn) \(n(g))"]
        case .behavioralVoltage(let name, let a, let b, let expression): return ["B\(name) \(a) \(b) V=\(expression)"]
        case .behavioralCurrent(let name, let a, let b, let expression): return ["B\(name) \(a) \(b) I=\(expression)"]
        case .voltageSource(let name, let a, let b, let w): return ["V\(name) \(a) \(b) \(waveform(w, n))"]
        case .currentSource(let name, let a, let b, let w): return ["I\(name) \(a) \(b) \(waveform(w, n))"]
        case .opAmp(let name, let plus, let minus, let output):
            switch opAmp {
            case .ideal(let gain): return ["E\(name) \(output) 0 \(plus) \(minus) \(n(gain))"]
            case .singlePole: return ["X\(name) \(plus) \(minus) \(output) opamp_sp"]
            case .cmosTwoStage: return ["X\(name) \(plus) \(minus) \(output) \(CMOSTwoStageOpAmp.subcircuitName)"]
            case .macromodel(let m):
                let offset = m.offsetSigma > 0 ? " vos=\(n(m.offset(of: name.text)))" : ""
                return ["X\(name) \(plus) \(minus) \(output) opamp_mm" + offset]
            }
        case .instance(let name, let nodes, let subcircuit):
            return ["X\(name) " + nodes.map(\.text).joined(separator: " ") + " \(subcircuit)"]
        case .bjt(let name, let c, let b, let e, let model):
            return ["Q\(name) \(c) \(b) \(e) \(model)"]
        case .mosfet(let name, let d, let g, let s, let b, let model, let w, let l):
            return ["M\(name) \(d) \(g) \(s) \(b) \(model) W=\(n(w)) L=\(n(l))"]
        }
    }

    func waveform(_ w: Waveform, _ n: (Double) -> String) -> String {
        switch w {
        case .dc(let v): return "DC \(n(v))"
        case .pwl(let points, let parameter):
            let body = points.enumerated().map { k, p in
                if k > 0, let parameter { return "\(n(p.time)) {\(n(p.value))*\(parameter)}" }
                return "\(n(p.time)) \(n(p.value))"
            }.joined(separator: " ")
            return "DC \(n(points.first?.value ?? 0)) PWL(\(body))"
        case .transientNoise(let dc, let amplitude, let step):
            return "DC \(n(dc)) TRNOISE(\(n(amplitude)) \(n(step)) 0 0)"
        }
    }

    public func definitions(for opAmp: OpAmpModel) -> [String] {
        if case .macromodel(let m) = opAmp { return macromodel(m) }
        if case .cmosTwoStage(let o) = opAmp { return [comment(o.summary)] + o.definition }
        guard case .singlePole(let gain, let gbw, let rail) = opAmp else { return [] }
        // Transconductance into R_p ∥ C_p: DC gain A, pole at GBW/A, unity-gain buffer out.
        let rp = 1e3
        let pole = gbw / gain
        let cp = 1 / (2 * Double.pi * pole * rp)
        let n = Self.number
        let output = rail > 0 ? "Bout out 0 V=max(min(V(x), \(n(rail))), \(n(-rail)))" : "Eout out 0 x 0 1"
        return [
            comment("single-pole op-amp: DC gain \(n(gain)), GBW \(n(gbw)) Hz" + (rail > 0 ? ", rails ±\(n(rail)) V" : "")),
            ".subckt opamp_sp inp inn out",
            "Gin 0 x inp inn \(n(gain / rp))",
            "Rp x 0 \(n(rp))",
            "Cp x 0 \(n(cp))",
            output,
            ".ends opamp_sp",
        ]
    }

    /// The `OpAmpMacromodel` subcircuit: offset in series with the + input, bias currents
    /// out of both inputs, a transconductance limited to ±SR·C_p into R_p ∥ C_p, a clamped buffer.
    func macromodel(_ m: OpAmpMacromodel) -> [String] {
        let n = Self.number
        let rp = OpAmpMacromodel.stageResistance
        let gm = m.gain / rp
        let cp = 1 / (2 * Double.pi * m.pole * rp)
        var lines = [
            comment(m.summary),
            ".subckt opamp_mm inp inn out params: vos=0",
            "Vos inp ip {vos}",
        ]
        if m.biasCurrent > 0 {
            lines += ["Ibp ip 0 DC \(n(m.biasCurrent))", "Ibn inn 0 DC \(n(m.biasCurrent))"]
        }
        if m.slewRate > 0 {
            let limit = m.slewRate * cp
            lines.append("Bgm 0 x I=max(min(\(n(gm))*V(ip,inn), \(n(limit))), \(n(-limit)))")
        } else {
            lines.append("Ggm 0 x ip inn \(n(gm))")
        }
        lines += ["Rp x 0 \(n(rp))", "Cp x 0 \(n(cp))"]
        lines.append(m.swing > 0 ? "Bout out 0 V=max(min(V(x), \(n(m.swing))), \(n(-m.swing)))" : "Eout out 0 x 0 1")
        lines.append(".ends opamp_mm")
        return lines
    }

    public func line(for directive: Directive) -> [String] {
        let n = Self.number
        switch directive {
        case .operatingPoint: return [".op"]
        case .transient(let step, let stop, let maxStep):
            return [".tran \(n(step)) \(n(stop))" + (maxStep.map { " 0 \(n($0))" } ?? "")]
        case .save(let nodes):
            // Continuation lines keep each card readable.
            var out: [String] = []
            var current = ".save"
            for node in nodes {
                let item = " v(\(node))"
                if current.count + item.count > 100 {
                    out.append(current)
                    current = "+"
                }
                current += item
            }
            out.append(current)
            return out
        case .dcSweep(let source, let start, let stop, let step):
            return [".dc V\(source) \(n(start)) \(n(stop)) \(n(step))"]
        case .options(let pairs):
            return [".options " + pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " ")]
        }
    }

    /// A `.model` line; a long card (BSIM) continues on `+` lines of six parameters each.
    public func modelCard(_ card: ModelCard) -> String {
        let pairs = card.parameters.map { "\($0.0)=\(Self.number($0.1))" }
        guard pairs.count > 8 else { return ".model \(card.name) \(card.type)(" + pairs.joined(separator: " ") + ")" }
        let rows = stride(from: 0, to: pairs.count, by: 6).map { pairs[$0..<min($0 + 6, pairs.count)].joined(separator: " ") }
        return ".model \(card.name) \(card.type)(\n+ " + rows.joined(separator: "\n+ ") + ")"
    }

    public func subcircuitHeader(_ s: Subcircuit) -> String { ".subckt \(s.name) " + s.ports.map(\.text).joined(separator: " ") }
    public func subcircuitEnd(_ s: Subcircuit) -> String { ".ends \(s.name)" }

    public func parameter(_ name: SpiceName, _ value: Double) -> String { ".param \(name)=\(Self.number(value))" }
    public func comment(_ text: String) -> String { "* " + sanitizedComment(text) }
    public var end: String { ".end" }
    public func number(_ x: Double) -> String { Self.number(x) }
}
