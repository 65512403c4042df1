import Foundation
import Testing

/// The documentation a newcomer reads: short results, every figure shown, no dead links,
/// no internal issue numbers.
@Suite("documentation")
struct DocumentationTests {
    static let root = CLI.repository
    static let fm = FileManager.default

    /// Every Markdown file a user reads: README, docs/ and docs/notes/, the module READMEs.
    static func markdownFiles() throws -> [URL] {
        var out = [root.appendingPathComponent("README.md")]
        for dir in ["docs", "docs/notes"] {
            let url = root.appendingPathComponent(dir)
            out += try fm.contentsOfDirectory(at: url, includingPropertiesForKeys: nil).filter { $0.pathExtension == "md" }
        }
        for module in try fm.contentsOfDirectory(atPath: root.appendingPathComponent("Sources").path) {
            let readme = root.appendingPathComponent("Sources/\(module)/README.md")
            if fm.fileExists(atPath: readme.path) { out.append(readme) }
        }
        return out
    }

    @Test("docs/results.md holds current results only: at most 400 lines")
    func resultsPageIsShort() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/results.md"), encoding: .utf8)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 400)
    }

    @Test("every figure in docs/figures is shown by a page, and every image a page shows exists")
    func figuresReferenced() throws {
        var pages: [(URL, String)] = []
        for url in try Self.markdownFiles() { pages.append((url, try String(contentsOf: url, encoding: .utf8))) }
        let figures = Self.root.appendingPathComponent("docs/figures")
        let enumerator = try #require(Self.fm.enumerator(at: figures, includingPropertiesForKeys: nil))
        for case let url as URL in enumerator where url.pathExtension == "svg" {
            let relative = "figures/" + url.path.dropFirst(figures.path.count + 1)
            #expect(pages.contains { $0.1.contains(relative) }, "\(relative) is shown by no page")
        }
        for (page, text) in pages {
            for part in text.components(separatedBy: "](").dropFirst() {
                let target = String(part.prefix { $0 != ")" })
                guard target.hasSuffix(".svg") || target.hasSuffix(".md"), !target.hasPrefix("http") else { continue }
                let resolved = page.deletingLastPathComponent().appendingPathComponent(target).standardizedFileURL
                #expect(Self.fm.fileExists(atPath: resolved.path), "\(page.lastPathComponent) links to missing \(target)")
            }
        }
    }

    @Test("no internal issue numbers in what users read (docs, examples, help)")
    func noIssueNumbers() throws {
        var files = try Self.markdownFiles()
        for dir in ["Examples", "Sources/dfcspice"] {
            let enumerator = try #require(Self.fm.enumerator(at: Self.root.appendingPathComponent(dir), includingPropertiesForKeys: nil))
            for case let url as URL in enumerator where ["yaml", "sh", "swift"].contains(url.pathExtension) { files.append(url) }
        }
        let pattern = try Regex("\\(issues? [0-9]|issue [0-9]+\\b")
        for url in files {
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.firstMatch(of: pattern) == nil, "\(url.path.dropFirst(Self.root.path.count + 1)) mentions an issue number")
        }
    }
}
