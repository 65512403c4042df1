import Foundation

/// A progress line on standard error. On a terminal it is redrawn in place (with a bar when
/// the fraction done is known); in a log file, where carriage returns would pile up, it is
/// printed at most once per `logInterval` seconds, so a long run's log stays readable.
final class ProgressLine: @unchecked Sendable {
    let terminal = isatty(STDERR_FILENO) != 0
    /// Seconds between lines in a log; `.infinity` prints nothing there.
    let logInterval: TimeInterval
    private let lock = NSLock()
    private var lastLog = Date.distantPast
    private var lastDraw = Date.distantPast
    private var open = false

    init(logInterval: TimeInterval = 10) { self.logInterval = logInterval }

    static let barWidth = 24

    /// Shows `text`; `fraction` (0…1) draws a bar on a terminal.
    func show(_ text: String, fraction: Double? = nil) {
        lock.withLock {
            let now = Date()
            if terminal {
                // Redrawing faster than the eye reads costs time in tight loops.
                guard now.timeIntervalSince(lastDraw) >= 0.05 else { return }
                lastDraw = now
                var bar = ""
                if let fraction {
                    let filled = min(Self.barWidth, max(0, Int(Double(Self.barWidth) * fraction)))
                    bar = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: Self.barWidth - filled) + "] "
                }
                write("\r" + bar + text + "  ")
                open = true
            } else if now.timeIntervalSince(lastLog) >= logInterval {
                write(text + "\n")
                lastLog = now
            }
        }
    }

    /// Ends the line: on a terminal the cursor moves to a fresh line; `text`, if given, is
    /// the line's last state, shown in a log too.
    func finish(_ text: String? = nil) {
        lock.withLock {
            if terminal {
                if let text { write("\r" + text + "  ") }
                if open || text != nil { write("\n") }
                open = false
            } else if let text, logInterval.isFinite {
                write(text + "\n")
                lastLog = Date()
            }
        }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
