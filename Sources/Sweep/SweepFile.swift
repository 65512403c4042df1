import Foundation
import LinearAlgebra
import Training
import Yams

/// A sweep as its YAML file describes it:
///
///     name: noise-mc                      # optional; default: the file's name
///     base: ../student-teacher.yaml       # the config every point starts from
///     command: evaluate                   # train, evaluate, compare or solve
///     options: {model: model.npz, data: student-teacher}   # the command's options
///     vary:                               # the keys that differ between points
///       circuit.device.programmingNoise: [0, 0.02, 0.05, 0.1]      # a list
///       dfc.kp: {from: 0.5, to: 2, count: 4}                       # a grid (log: true for geometric)
///       circuit.deviceSeed: {draws: 32, seed: 11}                  # Monte Carlo draws of a seed
///       --programmings: [1, 3]                                     # a command option
///     replicates: {seed: [1, 2, 3]}       # seeds to repeat every point with
///
/// The points are the product of every `vary` and `replicates` entry, the last entry changing
/// fastest. Dotted keys go into the config; `--name` keys are command options. Draws and
/// replicates are *seed* keys: `collect` averages over them and plots the others. Paths in
/// `base` and in path options are relative to the sweep file.
public struct SweepFile: Sendable {
    public enum Command: String, Sendable, CaseIterable, Codable { case train, evaluate, compare, solve }

    /// One varied key and its values, as the YAML scalars they are written in.
    public struct Axis: Sendable, Codable, Equatable {
        public var key: String
        public var values: [String]
        /// Drawn or replicated seeds: averaged over, not plotted against.
        public var isSeed: Bool
        public var isOption: Bool { key.hasPrefix("--") }

        /// The values of point `index` of the product of `axes`, the last axis fastest.
        static func values(of index: Int, _ axes: [Axis]) -> [String] {
            var rest = index
            var out = [String](repeating: "", count: axes.count)
            for a in axes.indices.reversed() {
                let n = axes[a].values.count
                out[a] = axes[a].values[rest % n]
                rest /= n
            }
            return out
        }
    }

    public var path: String
    public var name: String
    public var base: String
    public var command: Command
    /// Option name (without --) → values (one, or several for a list option).
    public var options: [(String, [String])]
    public var axes: [Axis]

    /// Options the sweep sets itself for every point.
    static let reservedOptions: Set<String> = ["config", "out", "resume", "merge", "json"]
    /// Options whose values are paths (made absolute from the sweep file's directory).
    static let pathOptions: Set<String> = ["model", "input", "labels", "data-dir", "runs"]
    /// Points a sweep may have: beyond this a typo in a grid is likelier than a real sweep.
    public static let maxPoints = 100_000

    public static func load(path: String) throws -> SweepFile {
        let text = try InputFile.text(path: path, maxBytes: 1 << 20, limitReason: "a sweep file")
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> SweepFile {
        func fail(_ field: String?, _ reason: String) -> InputError { InputError(file: path, field: field, reason) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw fail(nil, "malformed YAML: \("\(error)".split(separator: "\n").first.map(String.init) ?? "")")
        }
        guard let top = node?.mapping else { throw fail(nil, "the top level must be a mapping (base, command, options, vary, replicates)") }
        let known: Set<String> = ["name", "base", "command", "options", "vary", "replicates"]
        for key in top.keys {
            guard let k = key.string else { throw fail(nil, "a key is not plain text") }
            guard known.contains(k) else { throw fail(k, "unknown key (expected \(known.sorted().joined(separator: ", ")))") }
        }
        func scalar(_ n: Node?, _ field: String) throws -> String {
            guard let n else { throw fail(field, "missing") }
            guard let s = n.scalar?.string else { throw fail(field, "expected a single value") }
            return s
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : dir.appendingPathComponent(p).standardizedFileURL.path }
        let name = try top["name"].map { try scalar($0, "name") }
            ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard SweepFile.isSafeName(name) else { throw fail("name", "'\(name)' must be letters, digits, '-', '_' or '.' (it names the Slurm job)") }
        let base = absolute(try scalar(top["base"], "base"))
        let commandText = try scalar(top["command"], "command")
        guard let command = Command(rawValue: commandText) else {
            throw fail("command", "unknown command '\(commandText)' (expected \(Command.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var options: [(String, [String])] = []
        if let o = top["options"] {
            guard let m = o.mapping else { throw fail("options", "expected a mapping of option names to values") }
            for (k, v) in m {
                guard var key = k.string else { throw fail("options", "an option name is not plain text") }
                if key.hasPrefix("--") { key.removeFirst(2) }
                let field = "options.\(key)"
                guard isOptionName(key) else { throw fail(field, "not an option name") }
                guard !reservedOptions.contains(key) else { throw fail(field, "is set by the sweep for every point") }
                var values: [String]
                if let seq = v.sequence {
                    values = try seq.enumerated().map { try scalar($0.element, "\(field)[\($0.offset)]") }
                } else {
                    values = [try scalar(v, field)]
                }
                if pathOptions.contains(key) { values = values.map(absolute) }
                options.append((key, values))
            }
        }
        var axes: [Axis] = []
        func parseAxis(_ key: String, _ v: Node, field: String, seed: Bool) throws -> Axis {
            if key.hasPrefix("--") {
                let option = String(key.dropFirst(2))
                guard isOptionName(option) else { throw fail(field, "not an option name") }
                guard !reservedOptions.contains(option) else { throw fail(field, "is set by the sweep for every point") }
            } else {
                guard isConfigKey(key) else { throw fail(field, "not a config key (dotted names such as circuit.device.programmingNoise) or --option") }
            }
            if let seq = v.sequence {
                let values = try seq.enumerated().map { try scalar($0.element, "\(field)[\($0.offset)]") }
                guard !values.isEmpty else { throw fail(field, "an empty list gives no points") }
                return Axis(key: key, values: values, isSeed: seed)
            }
            guard let m = v.mapping else { throw fail(field, "expected a list of values, {from, to, count}, or {draws, seed}") }
            let keys = Set(m.keys.compactMap(\.string))
            func number(_ k: String) throws -> Double {
                let text = try scalar(m[k], "\(field).\(k)")
                guard let x = Double(text), x.isFinite else { throw fail("\(field).\(k)", "expected a finite number, got '\(text)'") }
                return x
            }
            func count(_ k: String) throws -> Int {
                let text = try scalar(m[k], "\(field).\(k)")
                guard let n = Int(text) else { throw fail("\(field).\(k)", "expected a whole number, got '\(text)'") }
                guard n >= 1 else { throw fail("\(field).\(k)", "must be ≥ 1 (an empty grid gives no points)") }
                guard n <= maxPoints else { throw fail("\(field).\(k)", "\(n) is more than a sweep may have (\(maxPoints))") }
                return n
            }
            if keys.contains("draws") {
                guard keys.isSubset(of: ["draws", "seed"]) else { throw fail(field, "a Monte Carlo entry takes draws and seed") }
                let n = try count("draws")
                let seedText = try scalar(m["seed"], "\(field).seed")
                guard let s = UInt64(seedText) else { throw fail("\(field).seed", "expected a whole number ≥ 0, got '\(seedText)'") }
                // Seeds below 2^48 read back exactly from any JSON or YAML reader.
                var g = SeededGenerator(seed: s)
                return Axis(key: key, values: (0..<n).map { _ in String(g.next() >> 16) }, isSeed: true)
            }
            guard keys.isSubset(of: ["from", "to", "count", "log"]), keys.isSuperset(of: ["from", "to", "count"]) else {
                throw fail(field, "a grid takes from, to, count (and log: true)")
            }
            let from = try number("from"), to = try number("to"), n = try count("count")
            let log = try m["log"].map { n -> Bool in
                guard let b = n.bool else { throw fail("\(field).log", "expected true or false") }
                return b
            } ?? false
            if log { guard from > 0, to > 0 else { throw fail(field, "a log grid needs from and to above 0") } }
            let values = (0..<n).map { k -> Double in
                let t = n == 1 ? 0 : Double(k) / Double(n - 1)
                return log ? Foundation.exp(Foundation.log(from) + t * (Foundation.log(to) - Foundation.log(from))) : from + t * (to - from)
            }
            return Axis(key: key, values: values.map { "\($0)" }, isSeed: seed)
        }
        for (section, isSeed) in [("vary", false), ("replicates", true)] {
            guard let v = top[Node(section)] else { continue }
            guard let m = v.mapping else { throw fail(section, "expected a mapping of keys to values") }
            for (k, entry) in m {
                guard let key = k.string else { throw fail(section, "a key is not plain text") }
                guard !axes.contains(where: { $0.key == key }) else { throw fail("\(section).\(key)", "is varied twice") }
                axes.append(try parseAxis(key, entry, field: "\(section).\(key)", seed: isSeed))
            }
        }
        guard !axes.isEmpty else { throw fail("vary", "missing: a sweep varies at least one key") }
        let points = axes.reduce(1) { $0.multipliedReportingOverflow(by: $1.values.count).overflow ? Int.max : $0 * $1.values.count }
        guard points <= maxPoints else { throw fail("vary", "\(points) points; a sweep may have at most \(maxPoints)") }
        for axis in axes where axis.isOption {
            let option = String(axis.key.dropFirst(2))
            guard !options.contains(where: { $0.0 == option }) else { throw fail("vary.\(axis.key)", "is also given under options") }
        }
        return SweepFile(path: path, name: name, base: base, command: command, options: options, axes: axes)
    }

    static func isOptionName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.first?.isLetter == true && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func isConfigKey(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.count <= 8 && parts.allSatisfy { p in
            !p.isEmpty && p.first?.isLetter == true && p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
    }

    static func isSafeName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) } && !s.hasPrefix(".")
    }

    /// The number of points.
    public var pointCount: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// The values of point `index` (row-major over `axes`, the last axis fastest).
    public func values(of index: Int) -> [String] { Axis.values(of: index, axes) }
}
