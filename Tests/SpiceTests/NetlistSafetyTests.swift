import Foundation
import Spice
import NetlistText
import Testing

@Suite("Netlist safety")
struct NetlistSafetyTests {
    /// Lines ngspice reads as a control card or an include: its reader matches a
    /// case-insensitive prefix of the line, so none of these may pass as a plain card.
    static let disguised = [".control", ".control;x", ".CONTROLfoo", "  .Control\tx", ".endc;", ".includes x",
                            ".inc;/etc/passwd", ".LIB x", ".exec", "*#shell", "*ng_script"]

    @Test("control cards are matched as ngspice matches them, by prefix, not by spelling", arguments: disguised)
    func refusesDisguisedCards(line: String) {
        #expect(NetlistSafety.problem(with: line) != nil, "\(line) passed")
    }

    @Test("ordinary cards pass")
    func ordinaryCardsPass() {
        for line in ["R1 a b 1k", ".ic v(a)=0", ".options reltol=1e-4", ".model d1 d", "+ 1k", "* a comment", ".ends"] {
            #expect(NetlistSafety.problem(with: line) == nil, "\(line) refused")
        }
    }

    /// Independent truth: ngspice itself starts a control block from `.control;x` (it runs
    /// the `echo` inside), which is why the filter must refuse it.
    @Test("ngspice runs a control block opened by '.control;x'", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
    func ngspiceAgrees() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.cir")
        try "title\nV1 a 0 1\nR1 a 0 1k\n.control;x\necho MARKER-RAN\n.endc\n.end\n".write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ngspice")
        p.arguments = ["-b", file.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(text.contains("MARKER-RAN"), "\(text)")
        #expect(throws: SimulationError.self) {
            try NetlistSafety.check(["title", "V1 a 0 1", ".control;x", "echo MARKER-RAN", ".endc", ".end"])
        }
    }
}

@Suite("Raw files from hostile hands")
struct RawFileHostileTests {
    @Test("the fuzzer's raw file with a negative variable count, and counts that overflow, are refused")
    func negativeAndOverflowingCounts() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/seeds/raw/finding-negative-count.raw")
        #expect(throws: RawFileError.self) { try RawFile.parse(try Data(contentsOf: url)) }
        for header in ["No. Variables: -3\nNo. Points: 1\nVariables:\nBinary:\n",
                       "No. Variables: 4611686018427387904\nNo. Points: 4611686018427387904\nVariables:\n",
                       "No. Variables: 1\nNo. Points: 3037000500\nVariables:\n\t0\ttime\ttime\nBinary:\n"] {
            #expect(throws: RawFileError.self, "\(header)") { try RawFile.parse(Data(("Title: t\nPlotname: p\nFlags: real\n" + header).utf8)) }
        }
    }
}
