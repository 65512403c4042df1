import Foundation
import Testing

/// The command line as a new user meets it: mistakes named, help that can be copied.
@Suite("command line and help text")
struct CommandLineTests {
    /// Every visible command path (`["sweep", "run"]`), from ArgumentParser's own description.
    static func commandPaths() throws -> [[String]] {
        let r = try CLI.run(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        var paths: [[String]] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                guard let name = sub["commandName"] as? String, name != "help", sub["shouldDisplay"] as? Bool ?? true else { continue }
                paths.append(path + [name])
                walk(sub, path + [name])
            }
        }
        walk(try #require(root["command"] as? [String: Any]), [])
        return paths
    }

    /// The options `path` takes, read from its JSON description.
    static func optionNames(_ path: [String]) throws -> Set<String> {
        let r = try CLI.run(path + ["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let command = try #require(root["command"] as? [String: Any])
        var names: Set<String> = []
        for argument in command["arguments"] as? [[String: Any]] ?? [] {
            for entry in argument["names"] as? [[String: Any]] ?? [] {
                if let kind = entry["kind"] as? String, let name = entry["name"] as? String {
                    names.insert(kind == "long" ? "--" + name : "-" + name)
                }
            }
        }
        return names
    }

    @Test("`help nosuch` and `sweep help nosuch` say there is no such command and exit non-zero")
    func unknownHelpTopic() throws {
        for (args, parent) in [(["help", "nosuch"], "'dfcspice'"), (["sweep", "help", "nosuch"], "'dfcspice sweep'")] {
            let r = try CLI.run(args)
            #expect(r.status != 0)
            #expect(r.stderr.hasPrefix("error: 'nosuch' is not a command of \(parent)"), "\(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let ok = try CLI.run(["help", "sweep", "run"])
        #expect(ok.status == 0 && ok.stdout.contains("USAGE: dfcspice sweep run"))
    }

    @Test("an unknown option is reported before a missing required one")
    func unknownOptionFirst() throws {
        for args in [["solve", "--bogus"], ["solve", "--config=x.yaml", "--bogus=3"], ["sweep", "run", "--bogus", "dir"]] {
            let r = try CLI.run(args)
            #expect(r.status != 0)
            let line = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(line.hasPrefix("error: unknown option '--bogus' for 'dfcspice \(args[0])"), "\(line)")
        }
        // A missing option alone is still named as missing.
        let missing = try CLI.run(["solve"])
        #expect(missing.stderr.contains("--config"))
        // A negative number is a value, not an option.
        let negative = try CLI.run(["teacher", "--config", "nope.yaml", "--samples", "-3", "--input", "x.npy", "--labels", "y.npy"])
        #expect(!negative.stderr.contains("unknown option"))
    }

    @Test("every command's help has a copy-paste example, and no table or example line wraps at 80 columns")
    func helpExamples() throws {
        let paths = try Self.commandPaths()
        #expect(paths.count >= 20)
        for path in paths {
            // ArgumentParser wraps at the terminal's width; at 1000 columns nothing is wrapped,
            // so an indented line (a table row, an example) longer than 80 would wrap for a user.
            var env = ProcessInfo.processInfo.environment
            env["COLUMNS"] = "1000"
            let r = try CLI.run(CLI.binary, ["help"] + path, environment: env)
            #expect(r.status == 0, "help \(path)")
            let discussion = r.stdout.components(separatedBy: "\nUSAGE:").first ?? ""
            for line in discussion.split(separator: "\n") where line.first == " " {
                #expect(line.count <= 80, "dfcspice \(path.joined(separator: " ")): \(line.count) columns: \(line)")
            }
            // The examples: indented lines that start with `dfcspice`, `\` joining continued lines.
            var examples: [String] = [], current: String?
            for raw in discussion.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if current == nil, raw.first == " ", line.hasPrefix("dfcspice ") { current = "" }
                guard var text = current else { continue }
                let continued = line.hasSuffix("\\")
                text += " " + (continued ? String(line.dropLast()) : line)
                if continued { current = text } else { examples.append(text); current = nil }
            }
            let own = examples.filter { $0.split(separator: " ").dropFirst().starts(with: path.map { Substring($0) }) }
            #expect(!own.isEmpty, "dfcspice \(path.joined(separator: " ")) has no example of itself")
            // A group's examples are its commands' (`sweep` shows `sweep plan`); those are checked there.
            guard !paths.contains(where: { $0.count == path.count + 1 && $0.starts(with: path) }) else { continue }
            let known = try Self.optionNames(path)
            for example in own {
                for word in example.split(separator: " ") where word.hasPrefix("-") && Double(word) == nil {
                    let name = String(word.split(separator: "=")[0])
                    #expect(known.contains(name), "\(path): example uses \(name), which the command does not take: \(example)")
                }
            }
        }
    }

    @Test("teacher writes to --inputs-out/--labels-out; the old --input/--labels still work, hidden, and may not disagree")
    func teacherOutputNames() throws {
        let w = try Workspace()
        let new = try CLI.run(["teacher", "--config", w.path("c.yaml"), "--samples", "3", "--inputs-out", w.path("a.npy"), "--labels-out", w.path("b.npy")])
        #expect(new.status == 0, "\(new.stderr)")
        let old = try CLI.run(["teacher", "--config", w.path("c.yaml"), "--samples", "3", "--input", w.path("c.npy"), "--labels", w.path("d.npy")])
        #expect(old.status == 0, "\(old.stderr)")
        #expect(try Data(contentsOf: w.url("a.npy")) == Data(contentsOf: w.url("c.npy")))
        #expect(try Data(contentsOf: w.url("b.npy")) == Data(contentsOf: w.url("d.npy")))
        let clash = try CLI.run(["teacher", "--config", w.path("c.yaml"), "--inputs-out", w.path("e.npy"), "--input", w.path("f.npy"), "--labels-out", w.path("g.npy")])
        #expect(clash.status != 0 && clash.stderr.contains("--inputs-out"))
        #expect(!FileManager.default.fileExists(atPath: w.path("e.npy")) && !FileManager.default.fileExists(atPath: w.path("g.npy")))
        let help = try CLI.run(["help", "teacher"])
        #expect(help.stdout.contains("--inputs-out") && !help.stdout.contains("--input <"))
    }
}
