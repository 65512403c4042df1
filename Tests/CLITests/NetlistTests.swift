import Circuit
import Foundation
import NumPyFormat
import Testing

@Suite("Example netlists", .serialized)
struct NetlistTests {
    static let examples = ["single-neuron", "two-two-one", "student-teacher", "di-linear-regression",
                           "two-two-one-macromodel", "two-two-one-wires", "two-two-one-bjt-pair", "two-two-one-drift",
                           "two-two-one-reram", "two-two-one-converters", "two-two-one-mos-pair", "two-two-one-mos-pair-bsim4", "two-two-one-bjt-stages", "two-two-one-cmos"]

    @Test("netlists/ is exactly what netlists/generate.sh produces (golden)")
    func golden() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = CLI.repository.appendingPathComponent("netlists/generate.sh")
        let r = try CLI.run(URL(fileURLWithPath: "/bin/bash"), [script.path, dir.path, CLI.binary.path])
        #expect(r.status == 0, "generate.sh failed: \(r.stderr)")
        let models = ModelLibrary.files().map { "models/\($0.name)" }
        for file in Self.examples.map({ "\($0).cir" }) + models {
            let name = file
            let fresh = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            let committed = try String(contentsOf: CLI.repository.appendingPathComponent("netlists/\(file)"), encoding: .utf8)
            let a = fresh.split(separator: "\n", omittingEmptySubsequences: false)
            let b = committed.split(separator: "\n", omittingEmptySubsequences: false)
            let first = (0..<max(a.count, b.count)).first { $0 >= a.count || $0 >= b.count || !Self.sameLine(a[$0], b[$0]) }
            if let first {
                Issue.record("netlists/\(name) differs from a fresh generation at line \(first + 1); run netlists/generate.sh")
            }
        }
    }

    /// Equal text, except that numbers may differ in their last bits (1e-12 relative): the
    /// values come from BLAS products, and OpenBLAS's kernel (Haswell, Cooper Lake, …,
    /// chosen by CPU or OPENBLAS_CORETYPE) decides their rounding. Names, element order,
    /// structure and every value to 12 digits must still match.
    /// Values are spelled to nine digits (`100.003k`), so a last-bit difference can, rarely, move
    /// the ninth digit: one unit there (1e-8 relative at most) is allowed, nothing more.
    static func sameLine(_ x: Substring, _ y: Substring) -> Bool {
        if x == y { return true }
        let p = x.split(separator: " ", omittingEmptySubsequences: false), q = y.split(separator: " ", omittingEmptySubsequences: false)
        guard p.count == q.count else { return false }
        return zip(p, q).allSatisfy { s, t in
            if s == t { return true }
            guard s.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true,
                  let u = NgspiceDialect.value(of: s), let v = NgspiceDialect.value(of: t) else { return false }
            return abs(u - v) <= 1.0000001e-8 * max(abs(u), abs(v))
        }
    }

    @Test("a value changed beyond rounding, or any text, still fails the golden comparison")
    func goldenComparisonIsStrict() {
        #expect(Self.sameLine("VC1_target C1_target 0 DC -233.472137m", "VC1_target C1_target 0 DC -233.472136m"))
        #expect(!Self.sameLine("VC1_target C1_target 0 DC -233.472137m", "VC1_target C1_target 0 DC -233.472147m"))
        #expect(!Self.sameLine("R1 a b 1k", "R1 a b 1meg"))
        #expect(!Self.sameLine("VC1_target C1_target 0 DC 1", "VC1_target C2_target 0 DC 1"))
        #expect(!Self.sameLine("R1 a b 1e3", "R1 a b 1e3 extra"))
    }

    @Test("every committed netlist runs in stock ngspice -b without errors", arguments: examples)
    func runsInNgspice(name: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ng-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let netlist = CLI.repository.appendingPathComponent("netlists/\(name).cir")
        let raw = dir.appendingPathComponent("out.raw")
        let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/ngspice"), ["-b", "-r", raw.path, netlist.path])
        let log = r.stdout + r.stderr
        #expect(r.status == 0)
        let problems = log.split(separator: "\n").filter {
            let l = $0.lowercased()
            return l.contains("error") || l.contains("warning") || l.contains("timestep too small") || l.contains("singular")
        }
        #expect(problems.isEmpty, "\(problems)")
        let size = (try FileManager.default.attributesOfItem(atPath: raw.path)[.size] as? Int) ?? 0
        #expect(size > 1000, "raw file of \(size) bytes")
    }

    @Test("alterparam ctl_level switches one netlist between the controlled and the feedforward phase")
    func phaseSwitch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = try String(contentsOf: CLI.repository.appendingPathComponent("netlists/two-two-one.cir"), encoding: .utf8)
        // A control block of the test's own (users' fragments with .control are refused).
        text = text.replacingOccurrences(of: "\n.end\n", with: """

        .control
        run
        let on = abs(v(u0_p)[length(v(u0_p))-1])
        set uon = $&on
        alterparam ctl_level=0
        reset
        run
        let off = abs(v(u0_p)[length(v(u0_p))-1])
        echo RESULT $uon $&off
        .endc
        .end

        """)
        let file = dir.appendingPathComponent("alt.cir")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/ngspice"), ["-b", file.path])
        let line = try #require((r.stdout + r.stderr).split(separator: "\n").first { $0.hasPrefix("RESULT") })
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        try #require(values.count == 2, "\(line)")
        #expect(values[0] > 1e-3, "controlled phase: |u| = \(values[0])")
        #expect(values[1] < 1e-12, "feedforward phase: |u| = \(values[1])")
    }

    @Test("dfcspice netlist refuses unsafe includes and bad values with one error line and no file")
    func refusals() throws {
        let w = try Workspace()
        defer { w.remove() }
        for (extra, expected) in [
            ("circuit: {include: [\".control\", \"shell rm -rf /\"]}", "refused netlist fragment"),
            ("circuit: {somaResistance: -5}", "circuit.somaResistance"),
            ("circuit: {device: {gMin: 1e-3, gMax: 1e-4}}", "circuit.device.gMax"),
            ("circuit: {opamp: {model: magic}}", "circuit.opamp.model"),
        ] {
            let base = try String(contentsOf: w.url("c.yaml"), encoding: .utf8)
            try (base + "\n" + extra + "\n").write(to: w.url("bad.yaml"), atomically: true, encoding: .utf8)
            let r = try CLI.run(["netlist", "--config", w.path("bad.yaml"), "--model", w.path("m.npz"), "--input", w.path("x.npy"),
                                 "--out", w.path("n.cir")])
            #expect(r.status != 0)
            #expect(r.stderr.hasPrefix("error:") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(r.stderr.contains(expected), "\(r.stderr)")
            #expect(!w.exists("n.cir"))
        }
        let ok = try CLI.run(["netlist", "--config", w.path("c.yaml"), "--model", w.path("m.npz"), "--input", w.path("x.npy"),
                              "--sample", "2", "--phase", "feedforward", "--out", w.path("n.cir"), "--realised", w.path("rw.npz")])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try NPZ(contentsOf: w.url("rw.npz"))["W1"] != nil)
    }
}
