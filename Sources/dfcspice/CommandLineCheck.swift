import ArgumentParser
import Foundation

/// Checks ArgumentParser does not make, so a mistyped command line gets the message that
/// names the mistake: `help nosuch` is not a command (ArgumentParser prints the top-level
/// help and exits 0), and `solve --bogus` has an unknown option even though `--config` is
/// also missing (ArgumentParser reports the missing one).
enum CommandLineCheck {
    /// The command the leading words of `arguments` name, and the words after it.
    static func resolve(_ arguments: [String]) -> (command: any ParsableCommand.Type, path: [String], rest: ArraySlice<String>) {
        var command: any ParsableCommand.Type = DFCSpiceCommand.self
        var path: [String] = []
        var rest = arguments[...]
        while let word = rest.first,
              let sub = command.configuration.subcommands.first(where: { name(of: $0) == word }) {
            command = sub
            path.append(word)
            rest = rest.dropFirst()
        }
        return (command, path, rest)
    }

    /// Why `help …` names no command, or nil: `dfcspice help nosuch`, `dfcspice sweep help nosuch`.
    static func unknownHelpTopic(_ arguments: [String]) -> String? {
        guard let help = arguments.firstIndex(of: "help") else { return nil }
        let (_, path, leftover) = resolve(Array(arguments[..<help]))
        // Words before `help` that are not commands: it is an option's value (`--name help`).
        guard leftover.isEmpty else { return nil }
        let (parent, topicPath, rest) = resolve(path + arguments[(help + 1)...])
        guard let word = rest.first, !word.hasPrefix("-") else { return nil }
        let known = parent.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map(name(of:)).filter { $0 != "help" }
        return "'\(word)' is not a command of '\((["dfcspice"] + topicPath).joined(separator: " "))'"
            + (known.isEmpty ? "" : "; its commands: " + known.joined(separator: ", "))
    }

    /// The first option the named command does not have, or nil. Stops at `--`.
    static func unknownOption(_ arguments: [String]) -> String? {
        let (command, path, rest) = resolve(arguments)
        let known = optionNames(of: command)
        guard !known.isEmpty else { return nil }
        for word in rest {
            if word == "--" { break }
            guard word.hasPrefix("-"), word.count > 1, Double(word) == nil else { continue }
            let name = String(word.split(separator: "=", maxSplits: 1)[0])
            // A short word may be flags combined (`-hv`) or an option with its value attached:
            // its first letter decides.
            let isKnown = name.hasPrefix("--") ? known.contains(name)
                : known.contains(name) || name.dropFirst().first.map { known.contains("-\($0)") } == true
            if !isKnown { return "unknown option '\(name)' for '\((["dfcspice"] + path).joined(separator: " "))'" }
        }
        return nil
    }

    /// Every spelling of every option and flag `command` takes (`--config`, `-h`), from
    /// ArgumentParser's own description of it; empty if that cannot be read.
    static func optionNames(of command: any ParsableCommand.Type) -> Set<String> {
        guard let data = command._dumpHelp().data(using: .utf8),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let info = root["command"] as? [String: Any],
              let arguments = info["arguments"] as? [[String: Any]] else { return [] }
        var names: Set<String> = []
        for argument in arguments {
            for entry in argument["names"] as? [[String: Any]] ?? [] {
                guard let kind = entry["kind"] as? String, let name = entry["name"] as? String else { continue }
                names.insert(kind == "long" ? "--" + name : "-" + name)
            }
        }
        return names
    }

    static func name(of command: any ParsableCommand.Type) -> String {
        command.configuration.commandName ?? command._commandName
    }
}
