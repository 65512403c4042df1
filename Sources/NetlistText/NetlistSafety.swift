import Foundation

/// What may not appear in netlist text that came from a user: anything that makes
/// ngspice run commands, read or write other files, or reach a shell.
public enum NetlistSafety {
    /// Cards that open a command block or pull in other files. ngspice recognizes them by a
    /// case-insensitive *prefix* of the line (`ciprefix(".control", line)` in its reader), so
    /// `.control;x`, `.controlfoo` and `.includes` are these cards too: they are matched the
    /// same way here, never as whole words.
    public static let commandCards: [String] = [".control", ".endc", ".inc", ".lib", ".exec"]
    /// Interactive commands, should a line reach the command interpreter.
    public static let commands: Set<String> = ["shell", "system", "source", "write", "wrdata", "cd", "load", "exec"]

    /// Why `line` is unsafe, or nil. `*#` and `*ng_script` comment lines are commands in ngspice.
    public static func problem(with line: String) -> String? {
        guard line.unicodeScalars.allSatisfy({ ($0.value >= 0x20 && $0.value < 0x7f) || $0 == "\t" }) else {
            return "non-printable or non-ASCII characters"
        }
        let lowered = line.lowercased().trimmingCharacters(in: .whitespaces)
        if lowered.hasPrefix("*#") || lowered.hasPrefix("*ng_script") { return "'*#' lines are commands in ngspice" }
        if let card = commandCards.first(where: { lowered.hasPrefix($0) }) {
            return "'\(card)' is not allowed (ngspice reads any line that starts with it as that card)"
        }
        let first = lowered.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).first.map(String.init) ?? ""
        if commands.contains(first) { return "'\(first)' is not allowed" }
        return nil
    }
}
