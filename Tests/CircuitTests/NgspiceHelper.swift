import Foundation
import Spice

/// Runs stock `ngspice -b -r out.raw` on a netlist and reads the raw file back.
enum Ngspice {
    struct Run {
        var status: Int32
        var log: String
        var plots: [RawPlot]
    }

    static func run(netlist: String, in dir: URL, name: String = "c") throws -> Run {
        let cir = dir.appendingPathComponent("\(name).cir")
        let raw = dir.appendingPathComponent("\(name).raw")
        try netlist.write(to: cir, atomically: true, encoding: .utf8)
        return try run(file: cir, raw: raw)
    }

    static func run(file: URL, raw: URL) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ngspice")
        p.arguments = ["-b", "-r", raw.path, file.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let plots = (try? RawFile.read(path: raw.path)) ?? []
        return Run(status: p.terminationStatus, log: log, plots: plots)
    }

    /// Lines of an ngspice log that report a problem.
    static func problems(_ log: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter {
            let l = $0.lowercased()
            return l.contains("error") || l.contains("warning") || l.contains("singular") || l.contains("aborted")
                || l.contains("timestep too small") || l.contains("unknown") || l.contains("no such")
        }
    }
}

func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("circuit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
