import Foundation
import LinearAlgebra
import NumPyFormat
import Testing

/// Runs the built `dfcspice` as a user would.
struct CLI {
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["DFCSPICE_BIN"] { return URL(fileURLWithPath: path) }
        // The test bundle sits next to the executable in the build directory.
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dfcspice")
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        try run(binary, arguments, in: directory)
    }

    static func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                    environment: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let directory { p.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

/// A scratch directory with a config, a model and a student–teacher batch.
struct Workspace {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        seed: 3
        network: {sizes: [4, 5, 3], loss: mse, feedbackInit: weight-product}
        dfc: {steps: 200, dt: 0.01, traceStride: 20}
        feedback: {steps: 20}
        """.write(to: url("c.yaml"), atomically: true, encoding: .utf8)
        try expectSuccess(["init", "--config", path("c.yaml"), "--out", path("m.npz")])
        try expectSuccess(["teacher", "--config", path("c.yaml"), "--samples", "6", "--inputs-out", path("x.npy"), "--labels-out", path("y.npy")])
    }

    func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
    func path(_ name: String) -> String { url(name).path }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    func remove() { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func expectSuccess(_ arguments: [String]) throws -> CLI.Result {
        let r = try CLI.run(arguments)
        #expect(r.status == 0, "\(arguments.joined(separator: " ")): \(r.stderr)")
        return r
    }

    func solveArguments(config: String = "c.yaml", model: String = "m.npz", input: String = "x.npy",
                        labels: String = "y.npy", variant: String = "dfc", out: String = "r.npz") -> [String] {
        ["solve", "--config", path(config), "--model", path(model), "--input", path(input), "--labels", path(labels),
         "--variant", variant, "--out", path(out)]
    }
}

@Suite("dfcspice command line", .serialized)
struct CLITests {
    @Test("every variant solves a batch and writes the documented arrays", arguments: [
        "dfc", "dfc-ss", "dfc-ssa", "dfc-fixed", "dfc-ss-fixed", "dfc-ssa-fixed", "bp", "dfa", "fa",
    ])
    func solveEveryVariant(variant: String) throws {
        let w = try Workspace()
        defer { w.remove() }
        let r = try w.expectSuccess(w.solveArguments(variant: variant) + ["--json", "--feedback"])
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(summary?["variant"] as? String == variant)
        #expect(summary?["diagnostics"] is [String: Any])
        let npz = try NPZ(contentsOf: w.url("r.npz"))
        for name in ["u", "v1", "v2", "vff1", "vB2", "dW1", "dW2", "db1", "db2", "status", "seed", "target", "delta"] {
            #expect(npz[name] != nil, "\(variant): missing \(name)")
        }
        #expect(npz["dW1"]?.shape == [5, 4] && npz["u"]?.shape == [6, 3])
        let simulated = variant.hasPrefix("dfc") && !variant.contains("ssa")
        #expect((npz["t"] != nil) == simulated)
        #expect((npz["dQ1"] != nil) == ["dfc", "dfc-ss", "dfc-ssa"].contains(variant))
        if simulated { #expect(npz["trace_v1"]?.shape == [11, 6, 5]) }
    }

    @Test("bad input ends in one error line naming the problem, a non-zero exit, and no output", arguments: [
        "missing-config", "malformed-yaml", "unknown-variant", "unknown-activation", "missing-array", "wrong-shape",
        "nan-input", "input-features", "label-shape", "missing-model", "missing-output-dir", "size-mismatch",
    ])
    func badInput(problem: String) throws {
        let w = try Workspace()
        defer { w.remove() }
        var arguments = w.solveArguments()
        var expected = ""
        switch problem {
        case "missing-config":
            arguments = w.solveArguments(config: "nope.yaml"); expected = "nope.yaml: file not found"
        case "malformed-yaml":
            try "network: [1, 2\n  dfc: {".write(to: w.url("bad.yaml"), atomically: true, encoding: .utf8)
            arguments = w.solveArguments(config: "bad.yaml"); expected = "malformed YAML"
        case "unknown-variant":
            arguments = w.solveArguments(variant: "dfcc"); expected = "unknown variant 'dfcc'"
        case "unknown-activation":
            try "network: {sizes: [4, 5, 3], activations: [tanh, softplus]}".write(to: w.url("bad.yaml"), atomically: true, encoding: .utf8)
            arguments = w.solveArguments(config: "bad.yaml"); expected = "network.activations[1]"
        case "missing-array":
            var npz = try NPZ(contentsOf: w.url("m.npz"))
            npz["Q1"] = nil
            try npz.write(to: w.url("bad.npz"))
            arguments = w.solveArguments(model: "bad.npz"); expected = "Q1: missing array"
        case "wrong-shape":
            var npz = try NPZ(contentsOf: w.url("m.npz"))
            npz["W2"] = NDArray(Matrix(rows: 3, columns: 4))
            try npz.write(to: w.url("bad.npz"))
            arguments = w.solveArguments(model: "bad.npz"); expected = "W2"
        case "nan-input":
            try NDArray(shape: [6, 4], data: [.nan] + Array(repeating: 0, count: 23)).writeNPY(to: w.url("bad.npy"))
            arguments = w.solveArguments(input: "bad.npy"); expected = "NaN"
        case "input-features":
            try NDArray(Matrix(rows: 6, columns: 3)).writeNPY(to: w.url("bad.npy"))
            arguments = w.solveArguments(input: "bad.npy"); expected = "4 features"
        case "label-shape":
            try NDArray(Matrix(rows: 5, columns: 3)).writeNPY(to: w.url("bad.npy"))
            arguments = w.solveArguments(labels: "bad.npy"); expected = "bad.npy"
        case "missing-model":
            arguments = w.solveArguments(model: "none.npz"); expected = "none.npz: file not found"
        case "missing-output-dir":
            arguments = w.solveArguments(out: "no/such/dir/r.npz"); expected = "does not exist"
        default:
            try "network: {sizes: [4, 6, 3]}".write(to: w.url("other.yaml"), atomically: true, encoding: .utf8)
            arguments = w.solveArguments(config: "other.yaml"); expected = "W1"
        }
        let r = try CLI.run(arguments)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(lines.first?.lowercased().hasPrefix("error:") == true, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(expected), "stderr: \(r.stderr)")
        #expect(!w.exists("r.npz"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: w.dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("NumPy computes the same dfc-ssa result and reads dfcspice's models")
    func numpyCrossCheck() throws {
        let w = try Workspace()
        defer { w.remove() }
        let script = CLI.repository.appendingPathComponent("Tests/crosscheck/ssa.py").path
        let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, CLI.binary.path, w.dir.path])
        #expect(r.status == 0, "python3 ssa.py failed (make test installs NumPy): \(r.stderr)")
        #expect(r.stdout.contains("numpy cross-check: ok"))
    }
}

@Suite("dfcspice picks OpenBLAS's vector kernels")
struct BLASCoreCLITests {
    /// With OPENBLAS_CORETYPE unset, the binary must end up on the kernels this CPU's flags
    /// call for, whatever OpenBLAS's own detection picked (it re-executes itself).
    @Test("unset OPENBLAS_CORETYPE → the recommended core; a set one is kept")
    func reexec() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let arguments = ["bench", "--sizes", "4,3,2", "--batch", "2", "--steps", "2", "--repeats", "1"]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        let result = try CLI.run(CLI.binary, arguments, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        // The kernel floor rests on two measured kernel speeds, both positive and finite.
        let kernels = result.stdout.split(separator: "\n").first { $0.hasPrefix("element-wise kernels") }.map(String.init) ?? ""
        let speeds = kernels.split(separator: " ").compactMap { Double($0) }
        #expect(speeds.count == 2 && speeds.allSatisfy { $0 > 0 && $0.isFinite }, "\(kernels)")
        #expect(result.stdout.contains("kernel floor (products at the dgemm peak"), "\(result.stdout)")
        // OpenBLAS's own pick stands when it is as wide as the recommended one (Zen on an
        // AMD AVX2 CPU), so the check is on the vector width of the reported core.
        if let expected = BLASCore.recommended(cpuFlags: BLASCore.cpuFlags(cpuinfo: cpuinfo)) {
            let reported = Self.reportedCore(result.stdout)
            #expect(reported != nil, "no core in: \(result.stdout)")
            #expect(BLASCore.rank(reported ?? "") >= BLASCore.rank(expected), "reported \(reported ?? "none"), want as wide as \(expected)")
        }
        environment["OPENBLAS_CORETYPE"] = "Core2"
        let kept = try CLI.run(CLI.binary, arguments, environment: environment)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(Self.reportedCore(kept.stdout)?.lowercased() == "core2", "\(kept.stdout)")
    }

    /// The word after "openblas core" in bench's machine line.
    static func reportedCore(_ stdout: String) -> String? {
        let text = stdout.lowercased()
        guard let range = text.range(of: "openblas core ") else { return nil }
        let word = text[range.upperBound...].prefix { $0.isLetter || $0.isNumber }
        return word.isEmpty ? nil : String(word)
    }
}

@Suite("bench --figure")
struct BenchFigureTests {
    @Test("writes the per-epoch bar chart; a missing directory is refused before any timing")
    func figure() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dfcspice-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tiny = ["bench", "--sizes", "4,3,2", "--batch", "2", "--steps", "2", "--repeats", "1"]
        let path = dir.appendingPathComponent("epoch.svg").path
        let r = try CLI.run(tiny + ["--figure", path])
        #expect(r.status == 0, "\(r.stderr)")
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        for text in ["<svg", "published code", "speed target", "kernel floor", "arithmetic floor", ">Q pre-training<", "</svg>"] {
            #expect(svg.contains(text), "\(text)")
        }
        let bad = try CLI.run(tiny + ["--figure", dir.appendingPathComponent("missing/epoch.svg").path])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("error:") && bad.stderr.contains("does not exist"), "\(bad.stderr)")
        #expect(!bad.stdout.contains("dgemm peak"), "refused before timing anything")
    }
}
