import Foundation
import NetlistText

/// A node or element name that is safe to write into any SPICE dialect:
/// ASCII letters, digits and `_` only, starting with a letter, at most 64 characters.
///
/// Every name in a generated netlist is built from project-chosen parts and indices
/// (`L2_N7_soma`, `RW2_r7_c3p`), so users can find things; anything that came from
/// a user (a config's `name`, a label) passes through `sanitized` first and can never
/// inject a card, a comment or a `.control` block.
public struct SpiceName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let text: String

    /// Accepts `text` only if it is already safe.
    public init?(exactly text: String) {
        guard Self.isSafe(text) else { return nil }
        self.text = text
    }

    /// Builds a name from project-controlled parts; traps on an unsafe part, since that
    /// is a programming error, never user input.
    init(_ parts: String...) {
        let t = parts.joined()
        precondition(Self.isSafe(t), "internal name '\(t)' is not a safe SPICE name")
        text = t
    }

    /// Maps arbitrary text to a safe name: unsafe characters become `_`, a leading
    /// non-letter gets an `x` prefix, long names are cut.
    public static func sanitized(_ raw: String, fallback: String = "x") -> SpiceName {
        var s = String(raw.unicodeScalars.map { isAllowed($0) ? Character($0) : "_" }.prefix(64))
        if s.isEmpty { s = fallback }
        if let first = s.unicodeScalars.first, !isLetter(first) { s = String(("x" + s).prefix(64)) }
        return SpiceName(s)
    }

    public var description: String { text }
    public static func < (a: SpiceName, b: SpiceName) -> Bool { a.text < b.text }

    static func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
    static func isAllowed(_ c: Unicode.Scalar) -> Bool { isLetter(c) || (c >= "0" && c <= "9") || c == "_" }
    static func isSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, isLetter(first), s.unicodeScalars.count <= 64 else { return false }
        return s.unicodeScalars.allSatisfy(isAllowed)
    }

    /// Ground.
    public static let ground = SpiceName(groundText: "0")
    private init(groundText: String) { text = groundText }
}

/// Free text for titles and comments: printable ASCII only, no line breaks, so it can
/// never start a new card. Non-printable and non-ASCII characters become `?`.
public func sanitizedComment(_ raw: String, limit: Int = 120) -> String {
    var out = ""
    for c in raw.unicodeScalars {
        if c.value >= 0x20 && c.value < 0x7f {
            out.unicodeScalars.append(c)
        } else {
            out += commentSpelling[c] ?? "?"
        }
        if out.count >= limit { break }
    }
    return String(out.prefix(limit))
}

/// A header comment as lines of at most `width` characters, broken at spaces, so a long
/// description is kept whole instead of being cut at `sanitizedComment`'s limit.
func wrappedComment(_ raw: String, width: Int = 110) -> [String] {
    var lines: [String] = [], line = ""
    for word in sanitizedComment(raw, limit: 4 * width).split(separator: " ", omittingEmptySubsequences: false) {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = "  " + word
        } else {
            line += (line.isEmpty ? "" : " ") + word
        }
    }
    return lines + [line]
}

/// Plain-ASCII spellings of the symbols the papers' notation puts in netlist comments
/// (`10 rows × 16 columns`, `τ_v`), so a comment reads the same in any editor and ngspice.
let commentSpelling: [Unicode.Scalar: String] = [
    "×": "x", "·": "*", "±": "+/-", "≤": "<=", "≥": ">=", "≈": "~", "−": "-", "–": "-", "—": "-", "’": "'",
    "°": " deg", "µ": "u", "μ": "u", "Ω": "Ohm", "α": "alpha", "β": "beta", "δ": "delta", "Δ": "Delta",
    "λ": "lambda", "σ": "sigma", "τ": "tau", "φ": "phi", "ξ": "xi", "ε": "eps", "π": "pi", "…": "...",
    "→": "->", "∥": "||", "₀": "0", "₁": "1", "₂": "2", "₃": "3", "ᵀ": "^T", "⁻": "^-", "¹": "1",
]

/// Why a user-supplied netlist fragment was refused.
public struct UnsafeFragmentError: Error, CustomStringConvertible, Equatable {
    public var line: String
    public var reason: String
    public var description: String { "refused netlist fragment '\(sanitizedComment(line, limit: 60))': \(reason)" }
}

/// Checks lines a user wants added to a netlist (models, options). Control blocks,
/// shell escapes, includes of other files and analysis cards are refused unless the
/// user explicitly allowed them: they could run commands or change what is simulated.
public func checkFragment(_ lines: [String], allowUnsafe: Bool) throws -> [String] {
    // Analyses belong to the mapper; everything else unsafe is NetlistSafety's list.
    let analyses: Set<String> = [".tran", ".op", ".ac", ".dc", ".noise", ".pz", ".sens", ".tf", ".disto", ".end"]
    var out: [String] = []
    for raw in lines {
        for piece in raw.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(piece)
            // The card's name ends where ngspice's tokenizer ends a word, so `.tran;x` is `.tran`.
            let first = line.lowercased().trimmingCharacters(in: .whitespaces)
                .split(whereSeparator: { " \t;,=()".contains($0) }).first.map(String.init) ?? ""
            if !allowUnsafe, let reason = NetlistSafety.problem(with: line) ?? (analyses.contains(first) ? "'\(first)' is not allowed" : nil) {
                throw UnsafeFragmentError(line: line, reason: reason + " (set circuit.allowUnsafeInclude: true to permit)")
            }
            out.append(line)
        }
    }
    return out
}
