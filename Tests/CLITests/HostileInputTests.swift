import Foundation
import Testing

@Suite("Hostile input and the README as written", .serialized)
struct HostileInputTests {
    /// Every case of Tests/hostile/corpus.py (configs, .npy, .npz, IDX, netlists, paths),
    /// each under `ulimit -v` and a timeout: one `error:` line, a non-zero exit that is not a
    /// signal, nothing left behind.
    @Test("the hostile-input corpus: every case ends in one error line, no crash, no hang, no output")
    func corpus() throws {
        let script = CLI.repository.appendingPathComponent("Tests/hostile/corpus.py")
        let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, CLI.binary.path])
        let summary = r.stdout.split(separator: "\n").last { $0.hasPrefix("hostile corpus:") } ?? "no summary"
        print(summary)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        // The corpus is meant to be large; a generator that silently lost its cases must fail.
        let tried = summary.split(separator: " ").dropFirst(2).first.flatMap { Int($0) } ?? 0
        #expect(tried >= 150, "\(summary)")
    }

    /// The README's tour, pasted as a user would: from another directory, with `dfcspice`
    /// found on PATH (workers included), in order; only the build line is left out.
    @Test("the README tour runs as written, dfcspice from PATH, in a fresh directory")
    func readmeTour() throws {
        let readme = try String(contentsOf: CLI.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(Self.tour(in: readme), "README.md has no tour code block")
        let script = block.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("swift build") }.joined(separator: "\n")
        #expect(script.contains("--backend spice --workers 2"), "the tour should keep its SPICE training with workers")
        let w = try Workspace()
        defer { w.remove() }
        let bin = w.url("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("dfcspice"), withDestinationURL: CLI.binary)
        try FileManager.default.createSymbolicLink(at: w.url("Examples"), withDestinationURL: CLI.repository.appendingPathComponent("Examples"))
        try ("set -e\n" + script + "\n").write(to: w.url("tour.sh"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let r = try CLI.run(URL(fileURLWithPath: "/bin/bash"), [w.path("tour.sh")], in: w.dir, environment: environment)
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\n\(r.stderr.suffix(2000))")
        #expect(!r.stderr.split(separator: "\n").contains { $0.hasPrefix("error:") || $0.hasPrefix("Error:") }, "\(r.stderr.suffix(2000))")
        for file in ["model.npz", "r.npz", "st.cir", "out/compare/report.html", "runs/st-spice/model.npz",
                     "runs/fm-small/metrics.jsonl", "runs/di-linear", "runs/di-circuit/report.html"] {
            #expect(w.exists(file), "the tour did not write \(file)")
        }
    }

    /// The shell code of the README section "A five-minute tour".
    static func tour(in readme: String) -> String? {
        guard let section = readme.range(of: "## A five-minute tour"),
              let open = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else { return nil }
        return String(readme[open.upperBound..<close.lowerBound])
    }

    @Test("a second train on a run that another process holds is refused, naming the holder; the run is unharmed")
    func runDirectoryLock() throws {
        let w = try Workspace()
        defer { w.remove() }
        try TrainCommandTests.config.replacingOccurrences(of: "epochs: 2", with: "epochs: 400")
            .write(to: w.url("t.yaml"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["train", "--config", w.path("t.yaml"), "--out", w.path("run")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !w.exists("run/checkpoint.json") { usleep(5_000) }
        try #require(p.isRunning, "the first run ended before the second could try")
        let second = try CLI.run(["train", "--resume", w.path("run")])
        #expect(second.status != 0)
        #expect(second.stderr.hasPrefix("error:") && second.stderr.contains("another dfcspice (pid \(p.processIdentifier))"), "\(second.stderr)")
        let again = try CLI.run(["train", "--config", w.path("t.yaml"), "--out", w.path("run")])
        #expect(again.status != 0 && again.stderr.contains("already holds a run"), "\(again.stderr)")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        // Once the holder is gone, the run resumes (the kernel dropped the lock).
        try TrainCommandTests.config.write(to: w.url("short.yaml"), atomically: true, encoding: .utf8)
        let resumed = try CLI.run(["train", "--config", w.path("short.yaml"), "--resume", w.path("run")])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test("a resume under another machine signature says so in one line and goes on")
    func machineChangeNote() throws {
        let w = try Workspace()
        defer { w.remove() }
        try TrainCommandTests.config.replacingOccurrences(of: "epochs: 2", with: "epochs: 1")
            .write(to: w.url("one.yaml"), atomically: true, encoding: .utf8)
        try TrainCommandTests.config.write(to: w.url("two.yaml"), atomically: true, encoding: .utf8)
        let first = try CLI.run(["train", "--config", w.path("one.yaml"), "--out", w.path("run")])
        #expect(first.status == 0, "\(first.stderr)")
        let checkpoint = w.url("run/checkpoint.json")
        let text = try String(contentsOf: checkpoint, encoding: .utf8)
        #expect(text.contains("\"machine\""), "the checkpoint records no machine")
        let same = try CLI.run(["train", "--config", w.path("two.yaml"), "--resume", w.path("run")])
        #expect(same.status == 0 && !same.stdout.contains("note: the checkpoint was written under"), "\(same.stdout)")
        // Pretend the checkpoint came from elsewhere.
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: checkpoint)) as? [String: Any])
        json["machine"] = "OpenBLAS Prescott, kernel level 0, 64 cores"
        try JSONSerialization.data(withJSONObject: json).write(to: checkpoint)
        try TrainCommandTests.config.replacingOccurrences(of: "epochs: 2", with: "epochs: 3")
            .write(to: w.url("three.yaml"), atomically: true, encoding: .utf8)
        let other = try CLI.run(["train", "--config", w.path("three.yaml"), "--resume", w.path("run")])
        #expect(other.status == 0, "\(other.stderr)")
        let notes = other.stdout.split(separator: "\n").filter { $0.hasPrefix("note: the checkpoint was written under OpenBLAS Prescott") }
        #expect(notes.count == 1, "\(other.stdout)")
    }
}
