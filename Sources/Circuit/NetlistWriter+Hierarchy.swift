/// Elements the hierarchical writer puts in one subcircuit instance: every element whose name
/// starts with `prefix`, except independent sources. Those stay at the top, as a test bench's
/// stimuli do, and drive the instance through a port: a target or an input changes per sample
/// by one card, and a PWL noise source's hundreds of samples do not become parameters.
///
/// Instances whose elements have the same structure share one `.subckt` definition; values
/// that differ between them (trimmed resistors, offsets) become its parameters.
public struct InstanceGroup: Sendable, Equatable {
    /// The instance's name (written with an `X`).
    public var instance: SpiceName
    public var prefix: String
    /// The subcircuit's name; a second structure of the same kind gets `_2`, and so on.
    public var kind: String
    /// Local port names of nodes outside the prefix (`U0_p` → `u_p`); nodes inside the
    /// prefix lose it (`L1_N0_soma` → `soma`).
    public var externalPorts: [SpiceName: String]

    public init(instance: SpiceName, prefix: String, kind: String, externalPorts: [SpiceName: String] = [:]) {
        self.instance = instance
        self.prefix = prefix
        self.kind = kind
        self.externalPorts = externalPorts
    }
}

/// A group's elements seen from inside its subcircuit.
private struct GroupForm {
    var ports: [(local: String, node: SpiceName)]
    /// The subcircuit's body with `{#}` for every value: equal keys share a definition.
    var key: String
    var values: [Double]
    var slotNames: [String]
    var local: [Element]
}

extension NetlistDialect {
    /// The subcircuit ideal op-amps become in hierarchical netlists.
    static var idealOpAmpName: String { "opamp_ideal" }

    /// Writes the neurons, controller channels and crossbars of `circuit` as subcircuit
    /// instances (`Circuit.groups`, one `xbar_<prefix>` per crossbar, ideal op-amps as
    /// `opamp_ideal`). Every node ngspice saves stays a top-level node, so the traces read
    /// back are those of the flat netlist; inner nodes appear as `x<instance>.<node>`.
    func writeHierarchical(_ circuit: Circuit, to sink: inout some TextSink) throws {
        let opAmp = circuit.opAmp
        var idealGain: Double?
        if case .ideal(let a) = opAmp { idealGain = a }
        func lifted(_ e: Element) -> Element {
            guard idealGain != nil, case .opAmp(let name, let p, let m, let o) = e else { return e }
            return .instance(name, nodes: [p, m, o], subcircuit: SpiceName.sanitized(Self.idealOpAmpName))
        }

        // Which group each element belongs to, by prefix (a few distinct prefix lengths).
        var groupByPrefix: [String: Int] = [:]
        for (g, group) in circuit.groups.enumerated() { groupByPrefix[group.prefix] = g }
        let prefixLengths = Set(circuit.groups.map(\.prefix.count)).sorted()
        var members = Array(repeating: [Element](), count: circuit.groups.count)
        var topLevel: [Element] = []
        for e in circuit.elements {
            switch e {
            case .voltageSource, .currentSource: topLevel.append(e); continue
            default: break
            }
            let name = e.name.text
            if let g = prefixLengths.lazy.compactMap({ name.count > $0 ? groupByPrefix[String(name.prefix($0))] : nil }).first {
                members[g].append(e)
            } else {
                topLevel.append(e)
            }
        }

        // A node is private to a group when nothing else touches it and it is not saved.
        let outside = -1
        var owner: [SpiceName: Int] = [:]
        func use(_ n: SpiceName, _ g: Int) { if let o = owner[n], o != g { owner[n] = outside } else { owner[n] = g } }
        for e in topLevel { for n in e.nodes { use(n, outside) } }
        for c in circuit.crossbars { for n in c.rows + c.plusLines + c.minusLines { use(n, outside) } }
        for case .save(let nodes) in circuit.directives { for n in nodes { use(n, outside) } }
        for (g, list) in members.enumerated() { for e in list { for n in e.nodes { use(n, g) } } }

        var forms: [GroupForm?] = []
        for (g, group) in circuit.groups.enumerated() {
            guard !members[g].isEmpty else { forms.append(nil); continue }
            forms.append(form(of: group, index: g, members: members[g].map(lifted), owner: owner, opAmp: opAmp))
        }

        // Instances of one structure share a definition; varying values become parameters.
        var templates: [(name: String, form: GroupForm, instances: [Int])] = []
        var templateOfKey: [String: Int] = [:]
        var kindCount: [String: Int] = [:]
        for (g, f) in forms.enumerated() {
            guard let f else { continue }
            if let t = templateOfKey[f.key] { templates[t].instances.append(g); continue }
            let kind = circuit.groups[g].kind
            kindCount[kind, default: 0] += 1
            let count = kindCount[kind] ?? 1
            templateOfKey[f.key] = templates.count
            templates.append((SpiceName.sanitized(count == 1 ? kind : "\(kind)_\(count)").text, f, [g]))
        }

        try sink.write(sanitizedComment(circuit.title))
        for h in circuit.header { for line in wrappedComment(h) { try sink.write(comment(line)) } }
        try sink.write(comment("subcircuits: each neuron, controller channel, crossbar and op-amp; an inner node reads"))
        try sink.write(comment("as x<instance>.<node> (xl1_n0.ssum); dfcspice netlist --flat writes the circuit without them."))
        for (name, value) in circuit.parameters { try sink.write(parameter(name, value)) }
        for l in definitions(for: opAmp) { try sink.write(l) }
        if let gain = idealGain {
            try sink.write(comment("ideal op-amp: a VCVS of gain \(number(gain))"))
            try sink.write(".subckt \(Self.idealOpAmpName) inp inn out")
            try sink.write("E1 out 0 inp inn \(number(gain))")
            try sink.write(".ends \(Self.idealOpAmpName)")
        }
        for m in circuit.models { try sink.write(modelCard(m)) }
        for sub in circuit.subcircuits {
            try sink.write(subcircuitHeader(sub))
            for e in sub.elements { for l in lines(for: e, opAmp: opAmp) { try sink.write(l) } }
            try sink.write(subcircuitEnd(sub))
        }
        for c in circuit.crossbars where fitsSubcircuit(c) { try writeCrossbarDefinition(c, to: &sink) }

        var instanceLines: [[String]] = Array(repeating: [], count: circuit.groups.count)
        for t in templates {
            let values = t.instances.compactMap { forms[$0]?.values }
            let varying = (0..<t.form.values.count).map { k in values.contains { $0[k] != values[0][k] } }
            var slot = 0
            let body = t.form.local.flatMap { e in
                lines(for: e, opAmp: opAmp) { x in
                    defer { slot += 1 }
                    return varying[slot] ? "{\(t.form.slotNames[slot])}" : number(x)
                }
            }
            let parameters = (0..<varying.count).filter { varying[$0] }
            try sink.write(comment("\(t.name): \(t.instances.count) instance\(t.instances.count == 1 ? "" : "s")"
                + (parameters.isEmpty ? "" : ", values that differ between them are parameters")))
            let header = [".subckt", t.name] + t.form.ports.map(\.local)
                + (parameters.isEmpty ? [] : ["params:"] + parameters.map { "\(t.form.slotNames[$0])=\(number(t.form.values[$0]))" })
            for l in Self.wrapped(header) { try sink.write(l) }
            for l in body { try sink.write(l) }
            try sink.write(".ends \(t.name)")
            for g in t.instances {
                guard let f = forms[g] else { continue }
                instanceLines[g] = Self.wrapped(["X\(circuit.groups[g].instance)"] + f.ports.map(\.node.text) + [t.name]
                    + parameters.map { "\(f.slotNames[$0])=\(number(f.values[$0]))" })
            }
        }

        for e in topLevel { for l in lines(for: lifted(e), opAmp: opAmp) { try sink.write(l) } }
        for list in instanceLines { for l in list { try sink.write(l) } }
        for c in circuit.crossbars {
            guard fitsSubcircuit(c) else {
                try writeCrossbarTiles(c, to: &sink)
                continue
            }
            for l in Self.wrapped(["X\(c.prefix)"] + (c.plusLines + c.minusLines + c.rows).map(\.text) + ["xbar_\(c.prefix)"]) {
                try sink.write(l)
            }
        }
        for l in circuit.userLines { try sink.write(l) }
        for d in circuit.directives { for l in line(for: d) { try sink.write(l) } }
        try sink.write(end)
    }

    private func form(of group: InstanceGroup, index g: Int, members: [Element], owner: [SpiceName: Int],
                      opAmp: OpAmpModel) -> GroupForm {
        func localName(_ text: String) -> String {
            SpiceName.sanitized(text.hasPrefix(group.prefix) ? String(text.dropFirst(group.prefix.count)) : text).text
        }
        var ports: [String: SpiceName] = [:]
        for e in members {
            for n in e.nodes where n != .ground && (!n.text.hasPrefix(group.prefix) || owner[n] != g) {
                ports[group.externalPorts[n] ?? localName(n.text)] = n
            }
        }
        var nodeMap: [SpiceName: SpiceName] = [:]
        for (local, node) in ports { nodeMap[node] = SpiceName.sanitized(local) }
        let local = members.map { e in
            e.renamed(SpiceName.sanitized(localName(e.name.text))) { n in
                n == .ground ? n : nodeMap[n] ?? SpiceName.sanitized(localName(n.text))
            }
        }
        var values: [Double] = []
        var slotNames: [String] = []
        var key = ports.keys.sorted().joined(separator: " ")
        for (global, e) in zip(members, local) {
            let before = values.count
            // Values come from the element under its own name (an op-amp's offset is drawn by name).
            _ = lines(for: global, opAmp: opAmp) { values.append($0); return "" }
            key += "\n" + lines(for: e, opAmp: opAmp) { _ in "{#}" }.joined(separator: "\n")
            // An op-amp's only per-instance value is its input offset.
            let base = (e.kind == "OPAMP" ? "vos" : e.kind.lowercased()) + "_" + e.name.text
            let count = values.count - before
            slotNames += (0..<count).map { count == 1 ? base : "\(base)_\($0 + 1)" }
        }
        return GroupForm(ports: ports.keys.sorted().compactMap { l in ports[l].map { (l, $0) } }, key: key,
                         values: values, slotNames: slotNames, local: local)
    }

    /// Names inside a crossbar's subcircuits: its lines `in<c>p`, `in<c>n`, its rows `out<r>`,
    /// and every other node or element without the array's prefix (`W1_R0_3` → `R0_3`).
    static func localNames(of c: Crossbar) -> (SpiceName) -> SpiceName {
        var map: [SpiceName: SpiceName] = [:]
        for (k, n) in c.plusLines.enumerated() { map[n] = SpiceName.sanitized("in\(k)p") }
        for (k, n) in c.minusLines.enumerated() { map[n] = SpiceName.sanitized("in\(k)n") }
        for (k, n) in c.rows.enumerated() { map[n] = SpiceName.sanitized("out\(k)") }
        let inner = c.prefix + "_"
        return { n in
            n == .ground ? n : map[n] ?? SpiceName.sanitized(n.text.hasPrefix(inner) ? String(n.text.dropFirst(inner.count)) : n.text)
        }
    }

    private func writeCrossbarDefinition(_ c: Crossbar, to sink: inout some TextSink) throws {
        let local = Self.localNames(of: c)
        try sink.write(comment("crossbar \(c.prefix): \(c.rows.count) rows × \(c.plusLines.count) columns, differential pairs"
            + (c.wires.isResistive ? ", resistive wires" : "")))
        let ports = (c.plusLines + c.minusLines + c.rows).map { local($0).text }
        for l in Self.wrapped([".subckt", "xbar_\(c.prefix)"] + ports) { try sink.write(l) }
        try c.forEachElement { e in
            for l in lines(for: e.renamed(local(e.name), nodes: local), opAmp: .ideal(gain: 1)) { try sink.write(l) }
        }
        try sink.write(".ends xbar_\(c.prefix)")
    }


    /// A wide crossbar as tiles of `tileSize` × `tileSize` cells, one subcircuit each
    /// (`xbar_<prefix>_t<i>_<j>`, instance `X<prefix>_t<i>_<j>`): a tile's ports are its lines and
    /// rows and the wire nodes it shares with its neighbours (at most 6·tileSize), so no
    /// subcircuit call exceeds ngspice's table, and a tile reads like one block of the array.
    func writeCrossbarTiles(_ c: Crossbar, to sink: inout some TextSink) throws {
        let m = c.rows.count, n = c.plusLines.count, t = max(1, tileSize)
        let blocks = stride(from: 0, to: m, by: t).flatMap { r in
            stride(from: 0, to: n, by: t).map { col in (rows: r..<min(m, r + t), columns: col..<min(n, col + t)) }
        }
        // Which tile uses each node; -1: more than one, or the array's own lines and rows.
        var owner: [SpiceName: Int] = [:]
        for node in c.plusLines + c.minusLines + c.rows { owner[node] = -1 }
        for (k, b) in blocks.enumerated() {
            c.forEachElement(rows: b.rows, columns: b.columns) { e in
                for node in e.nodes where node != .ground {
                    if let o = owner[node], o != k { owner[node] = -1 } else { owner[node] = k }
                }
            }
        }
        let local = Self.localNames(of: c)
        try sink.write(comment("crossbar \(c.prefix): \(m) rows x \(n) columns in \(blocks.count) tiles of up to \(t) x \(t) cells"
            + " (one subcircuit would pass ngspice's \(maxSubcircuitPorts) nets per call)"))
        for (k, b) in blocks.enumerated() {
            var elements: [Element] = []
            c.forEachElement(rows: b.rows, columns: b.columns) { elements.append($0) }
            var ports = Set<SpiceName>()
            for e in elements { for node in e.nodes where node != .ground && owner[node] != k { ports.insert(node) } }
            let ordered = ports.sorted { local($0).text < local($1).text }
            let name = "xbar_\(c.prefix)_t\(b.rows.lowerBound / t)_\(b.columns.lowerBound / t)"
            for l in Self.wrapped([".subckt", name] + ordered.map { local($0).text }) { try sink.write(l) }
            for e in elements {
                for l in lines(for: e.renamed(local(e.name), nodes: local), opAmp: .ideal(gain: 1)) { try sink.write(l) }
            }
            try sink.write(".ends \(name)")
            for l in Self.wrapped(["X\(c.prefix)_t\(b.rows.lowerBound / t)_\(b.columns.lowerBound / t)"] + ordered.map(\.text) + [name]) {
                try sink.write(l)
            }
        }
    }

    func fitsSubcircuit(_ c: Crossbar) -> Bool { 2 * c.plusLines.count + c.rows.count <= maxSubcircuitPorts }

    /// Words joined into cards of at most about 100 characters, continued with `+`.
    static func wrapped(_ words: [String]) -> [String] {
        var out: [String] = []
        var current = ""
        for w in words {
            if !current.isEmpty, current.count + 1 + w.count > 100 {
                out.append(current)
                current = "+"
            }
            current += current.isEmpty ? w : " " + w
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
