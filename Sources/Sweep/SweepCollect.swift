import Emulation
import Foundation
import NumPyFormat
import Reports
import Training

/// Every finished point's figures in one table, the table summarised over the seed keys
/// (mean, sample standard deviation, count), and one plot per swept key.
public struct SweepCollection: Sendable {
    public var manifest: SweepManifest
    public var results: [PointResult]
    /// Metric names, sorted.
    public var metrics: [String]

    public static func read(directory: URL) throws -> SweepCollection {
        let manifest = try SweepManifest.load(directory: directory)
        var results: [PointResult] = []
        for index in 0..<manifest.points {
            let url = SweepManifest.pointDirectory(directory, index).appendingPathComponent(PointFile.result)
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            do { results.append(try EvaluationReport.decoder.decode(PointResult.self, from: data)) } catch {
                throw InputError(file: url.path, "not a point result written by dfcspice sweep task")
            }
        }
        let metrics = Set(results.flatMap(\.metrics.keys)).sorted()
        return SweepCollection(manifest: manifest, results: results, metrics: metrics)
    }

    /// The metric plotted against the swept keys.
    public var primaryMetric: String? {
        let preference: [String]
        switch manifest.command {
        case .evaluate: preference = ["errorRate", "meanLoss"]
        case .train: preference = ["testError", "testLoss"]
        case .compare: preference = ["worstRmsOverRange", "finalU"]
        case .solve: preference = ["loss"]
        }
        return preference.first { metrics.contains($0) } ?? metrics.first
    }

    static func cell(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "nan" } ?? "" }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// One row per finished point: index, the swept values, every metric (no timings or hosts,
    /// so the same sweep run anywhere gives the same table).
    public var pointsCSV: String {
        var lines = [(["index"] + manifest.axes.map(\.key) + metrics).map(Self.csvField).joined(separator: ",")]
        for r in results {
            lines.append(([String(r.index)] + r.values + metrics.map { Self.cell(r.metrics[$0]) }).map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Groups of points that differ only in their seed keys.
    public struct Group: Sendable {
        public var values: [String]
        public var count: Int
        public var mean: [String: Double]
        public var std: [String: Double]
    }

    public var groupAxes: [SweepFile.Axis] { manifest.axes.filter { !$0.isSeed } }

    public var groups: [Group] {
        let keep = manifest.axes.indices.filter { !manifest.axes[$0].isSeed }
        var order: [[String]] = []
        var members: [[String]: [PointResult]] = [:]
        for r in results {
            let key = keep.map { r.values[$0] }
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(r)
        }
        return order.map { key in
            let rs = members[key] ?? []
            var mean: [String: Double] = [:], std: [String: Double] = [:]
            for m in metrics {
                let xs = rs.compactMap { $0.metrics[m] }
                guard !xs.isEmpty else { continue }
                let mu = xs.reduce(0, +) / Double(xs.count)
                mean[m] = mu
                std[m] = xs.count > 1 ? (xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(xs.count - 1)).squareRoot() : 0
            }
            return Group(values: key, count: rs.count, mean: mean, std: std)
        }
    }

    /// Figures that identify a point rather than measure it: in points.csv, not in the summary.
    static let bookkeeping: Set<String> = ["seed", "deviceSeed", "samples", "seconds", "epoch", "points", "span"]
    /// Measures, not bookkeeping; nested figures (a run's diagnostics and phase timings) stay in points.csv.
    var summaryMetrics: [String] { metrics.filter { !Self.bookkeeping.contains($0) && !$0.contains(".") } }

    public var summaryCSV: String {
        let metrics = summaryMetrics
        let header = groupAxes.map(\.key) + ["points"] + metrics.flatMap { ["\($0) mean", "\($0) std"] }
        var lines = [header.map(Self.csvField).joined(separator: ",")]
        for g in groups {
            lines.append((g.values + [String(g.count)] + metrics.flatMap { [Self.cell(g.mean[$0]), Self.cell(g.std[$0])] })
                .map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The summary as a Markdown table (mean ± std of each metric, 4 significant digits).
    public var summaryMarkdown: String {
        let metrics = summaryMetrics
        let seeds = manifest.axes.filter(\.isSeed).map { "\($0.key) (\($0.values.count))" }
        var s = "# Sweep \(manifest.name): dfcspice \(manifest.command.rawValue), \(results.count) of \(manifest.points) points done\n\n"
        if !seeds.isEmpty { s += "Mean ± sample standard deviation over \(seeds.joined(separator: " × ")).\n\n" }
        let header = groupAxes.map(\.key) + ["points"] + metrics
        s += "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for g in groups {
            let cells = metrics.map { m -> String in
                guard let mu = g.mean[m] else { return "" }
                return g.count > 1 ? String(format: "%.4g ± %.2g", mu, g.std[m] ?? 0) : String(format: "%.4g", mu)
            }
            s += "| " + (g.values + [String(g.count)] + cells).joined(separator: " | ") + " |\n"
        }
        return s
    }

    /// For each swept numeric key: the primary metric against it, one line per combination of
    /// the other swept keys, error bars of one standard deviation over the seeds.
    public func plots() -> [(name: String, svg: String)] {
        guard let metric = primaryMetric else { return [] }
        let axes = groupAxes
        var out: [(String, String)] = []
        for (a, axis) in axes.enumerated() {
            let xs = axis.values.compactMap(Double.init)
            guard xs.count == axis.values.count, Set(xs).count > 1 else { continue }
            // Lines are told apart by the other swept keys that take more than one value, named by
            // their last part (`columnResistance=1`); keys held at one value go to a note.
            let rest = axes.indices.filter { $0 != a && Set(axes[$0].values).count > 1 }
            let fixed = axes.indices.filter { $0 != a && Set(axes[$0].values).count == 1 }
            func short(_ key: String) -> String { String(key.split(separator: ".").last ?? Substring(key)) }
            var series: [String: [(Double, Double, Double)]] = [:]
            var order: [String] = []
            for g in groups {
                guard let x = Double(g.values[a]), let y = g.mean[metric] else { continue }
                let label = rest.isEmpty ? metric : rest.map { "\(short(axes[$0].key))=\(g.values[$0])" }.joined(separator: ", ")
                if series[label] == nil { order.append(label) }
                series[label, default: []].append((x, y, g.std[metric] ?? 0))
            }
            var plot = LinePlot(title: "\(manifest.name): \(metric) against \(axis.key)", xLabel: axis.key, yLabel: metric)
            for (k, label) in order.prefix(8).enumerated() {
                let pts = (series[label] ?? []).sorted { $0.0 < $1.0 }
                var line = LinePlot.Series(label: label, x: pts.map(\.0), y: pts.map(\.1), color: k)
                line.errors = pts.map(\.2)
                plot.series.append(line)
            }
            if order.count > 8 { plot.notes.append("first 8 of \(order.count) lines") }
            for f in fixed { plot.notes.append("\(short(axes[f].key)) = \(axes[f].values[0])") }
            // Strengths that span decades (drift time, wire resistance) read on a log axis.
            let drawn = plot.series.flatMap(\.x)
            if let lo = drawn.min(), let hi = drawn.max(), lo > 0, hi / lo >= 100 {
                plot.logX = true
                plot.xLabel += " (log)"
            }
            let seeds = manifest.axes.filter(\.isSeed)
            if !seeds.isEmpty {
                let n = seeds.reduce(1) { $0 * $1.values.count }
                plot.notes.append("bars: ±1 std over \(n) seeds")
            }
            let safe = axis.key.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
            out.append(("\(metric)-vs-\(safe).svg", plot.svg()))
        }
        return out
    }

    /// Writes points.csv, points.json, summary.csv, summary.md and the plots into `directory`.
    public func write(to directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [String] = []
        func put(_ name: String, _ data: Data) throws {
            try AtomicFile.write(data, to: directory.appendingPathComponent(name))
            written.append(name)
        }
        try put("points.csv", Data(pointsCSV.utf8))
        let encoder = EvaluationReport.encoder
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put("points.json", try encoder.encode(results))
        try put("summary.csv", Data(summaryCSV.utf8))
        try put("summary.md", Data(summaryMarkdown.utf8))
        for (name, svg) in plots() { try put(name, Data(svg.utf8)) }
        return written
    }
}
