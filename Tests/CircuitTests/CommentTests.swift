import Circuit
import Testing

@Suite("Netlist comments")
struct CommentTests {
    @Test("the papers' symbols are spelled in ASCII; other non-ASCII, newlines and control characters become '?'")
    func plainASCII() {
        #expect(sanitizedComment("crossbar W1: 10 rows × 16 columns, τ_v = 0.2 ± 1 µs, α ≤ 1") ==
                "crossbar W1: 10 rows x 16 columns, tau_v = 0.2 +/- 1 us, alpha <= 1")
        #expect(sanitizedComment("é\n.control\r\u{0}x") == "??.control??x")
        #expect(sanitizedComment(String(repeating: "τ", count: 100), limit: 10) == "tautautaut")
        for text in ["σ_fb ≈ 0.1 — Δv", "φ(v) − φ(v_B)", "a…b → c ∥ d"] {
            #expect(sanitizedComment(text).unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }, "\(text)")
        }
    }
}
