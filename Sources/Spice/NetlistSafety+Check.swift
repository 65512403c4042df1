import Foundation
import NetlistText

extension NetlistSafety {
    /// Checks a whole netlist before an engine runs it; the error names the line.
    public static func check(_ lines: [String]) throws {
        for (k, raw) in lines.enumerated() {
            for piece in raw.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                // The first line of a netlist is its title, never executed.
                if k == 0 { continue }
                if let p = problem(with: String(piece)) {
                    throw SimulationError(kind: .refused, message: "line \(k + 1) '\(String(piece.prefix(60)))': \(p) (pass --allow-control to run it anyway)", log: [])
                }
            }
        }
    }
}
