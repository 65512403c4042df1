import Foundation
import Training
import Yams

/// A planned sweep on disk: `DIR/manifest.json` and one directory per point,
/// `DIR/points/<index>/config.yaml`, where the point's command writes `out/`, its `log.txt`,
/// and at the end `result.json` (or `failed.json`).
public struct SweepManifest: Codable, Sendable {
    public var name: String
    public var sweepFile: String
    public var base: String
    public var command: SweepFile.Command
    /// (option, values) pairs, in the sweep file's order.
    public var options: [[String]]
    public var axes: [SweepFile.Axis]
    public var points: Int
    public var planned: String

    public static let fileName = "manifest.json"

    public static func load(directory: URL) throws -> SweepManifest {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw InputError(file: directory.path, "is not a planned sweep (no \(fileName); run dfcspice sweep plan first)")
        }
        do { return try JSONDecoder().decode(SweepManifest.self, from: data) } catch {
            throw InputError(file: url.path, "not a sweep manifest written by dfcspice sweep plan")
        }
    }

    /// The values of point `index`, one per axis.
    public func values(of index: Int) -> [String] { SweepFile.Axis.values(of: index, axes) }

    public static func pointDirectory(_ dir: URL, _ index: Int) -> URL {
        dir.appendingPathComponent("points").appendingPathComponent(String(format: "%05d", index))
    }

    /// The command line of point `index` without its output option (the task adds it).
    public func arguments(index: Int, config: String) -> [String] {
        var args = [command.rawValue, "--config", config]
        for option in options where !option.isEmpty {
            args.append("--" + option[0])
            args += option.dropFirst()
        }
        for (axis, value) in zip(axes, values(of: index)) where axis.isOption {
            args += [axis.key, value]
        }
        return args
    }

    /// What the point's command writes, inside the point's directory.
    public func outputArguments(pointDirectory p: URL) -> [String] {
        let out = p.appendingPathComponent("out")
        switch command {
        case .evaluate: return ["--out", out.appendingPathComponent("evaluation.json").path]
        case .compare: return ["--out", out.appendingPathComponent("compare").path]
        case .solve: return ["--out", out.appendingPathComponent("solve.npz").path, "--json"]
        case .train:
            let run = out.appendingPathComponent("run")
            // An interrupted run resumes where its last checkpoint left it.
            let resumable = FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint.json").path)
            return resumable ? ["--resume", run.path] : ["--out", run.path]
        }
    }
}

public enum SweepPlan {
    /// Checks every point (its config through the config loader, its command line through
    /// `validate`, its input files) and only then writes the sweep into `directory`, which
    /// must not exist yet: a refused sweep leaves nothing behind.
    public static func plan(_ sweep: SweepFile, into directory: URL,
                            validate: (SweepFile.Command, [String]) throws -> Void) throws -> SweepManifest {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory.path) else {
            throw InputError(file: directory.path, "exists; a plan is written into a new directory (re-run a planned sweep with dfcspice sweep run)")
        }
        let baseText = try InputFile.text(path: sweep.base, maxBytes: ConfigurationLoader.maxTextBytes, limitReason: "a config")
        _ = try ConfigurationLoader.parseExperiment(baseText, file: sweep.base)
        let baseNode: Node
        do {
            guard let n = try Yams.compose(yaml: baseText), n.mapping != nil else { throw InputError(file: sweep.base, "the top level must be a mapping") }
            baseNode = n
        }
        for option in sweep.options where SweepFile.pathOptions.contains(option.0) {
            for path in option.1 where !fm.fileExists(atPath: path) {
                throw InputError(file: sweep.path, field: "options.\(option.0)", "\(path) does not exist")
            }
        }
        let manifest = SweepManifest(name: sweep.name, sweepFile: URL(fileURLWithPath: sweep.path).standardizedFileURL.path, base: sweep.base,
                                     command: sweep.command, options: sweep.options.map { [$0.0] + $0.1 }, axes: sweep.axes,
                                     points: sweep.pointCount, planned: ISO8601DateFormatter().string(from: Date()))
        // Every point checked in memory first.
        var configs: [String] = []
        configs.reserveCapacity(manifest.points)
        for index in 0..<manifest.points {
            let values = manifest.values(of: index)
            let described = zip(manifest.axes, values).map { "\($0.key)=\($1)" }.joined(separator: ", ")
            var node = baseNode
            for (axis, value) in zip(manifest.axes, values) where !axis.isOption {
                do { try set(&node, path: axis.key.split(separator: ".").map(String.init), to: value) } catch let e as InputError {
                    throw InputError(file: sweep.path, field: "vary.\(axis.key)", e.reason)
                }
            }
            let text: String
            do { text = "# Point \(index) of sweep \(sweep.name): \(described)\n" + (try Yams.serialize(node: node)) } catch {
                throw InputError(file: sweep.path, "point \(index) (\(described)): its config cannot be written: \(error)")
            }
            do { _ = try ConfigurationLoader.parseExperiment(text, file: "config") } catch let e as InputError {
                let key = manifest.axes.first { e.field?.hasPrefix($0.key) == true || $0.key.hasPrefix(e.field ?? "\u{0}") }?.key
                throw InputError(file: sweep.path, field: key.map { "vary.\($0)" },
                                 "point \(index) (\(described)) cannot run: its config is refused: \(e.field.map { "\($0): " } ?? "")\(e.reason)")
            } catch {
                throw InputError(file: sweep.path, "point \(index) (\(described)) cannot run: its config is refused: \(error)")
            }
            let args = manifest.arguments(index: index, config: "config.yaml")
                + manifest.outputArguments(pointDirectory: URL(fileURLWithPath: "/nonexistent/point"))
            do { try validate(sweep.command, args) } catch {
                throw InputError(file: sweep.path, "point \(index) (\(described)) cannot run: dfcspice \(sweep.command.rawValue): \(error)")
            }
            configs.append(text)
        }
        // Written beside the target and renamed into place.
        let staging = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).planning-\(getpid())")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            for (index, text) in configs.enumerated() {
                let p = SweepManifest.pointDirectory(staging, index)
                try fm.createDirectory(at: p, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: p.appendingPathComponent("config.yaml"))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: staging.appendingPathComponent(SweepManifest.fileName))
            try fm.copyItem(atPath: sweep.path, toPath: staging.appendingPathComponent("sweep.yaml").path)
            try fm.moveItem(at: staging, to: directory)
        } catch {
            try? fm.removeItem(at: staging)
            throw InputError(file: directory.path, "could not be written: \(error.localizedDescription)")
        }
        return manifest
    }

    /// Sets `path` in a config tree to the scalar `value`, creating mappings on the way.
    static func set(_ node: inout Node, path: [String], to value: String) throws {
        guard let key = path.first else { return }
        guard var m = node.mapping else { throw InputError(file: "", "\(key) sits under a value that is not a mapping") }
        if path.count == 1 {
            m[Node(key)] = Node(value)
        } else {
            var child = m[Node(key)] ?? Node([(Node, Node)]())
            try set(&child, path: Array(path.dropFirst()), to: value)
            m[Node(key)] = child
        }
        node = .mapping(m)
    }
}
