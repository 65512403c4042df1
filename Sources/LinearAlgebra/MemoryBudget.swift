#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How many bytes this process may still allocate, and sizes computed without overflow.
///
/// Every size that comes from a file or a config (layer widths, sample counts, array shapes,
/// IDX dimensions, ZIP entries) is multiplied out with overflow-checked arithmetic and
/// compared with this budget *before* anything is allocated: a config asking for
/// `[4, 1000000000, 2]` ends in an `error:` line that names its estimate, not in a
/// `failed to allocate` trap. The budget is the smaller of the kernel's `MemAvailable` and
/// what `ulimit -v` still leaves this process; `DFCSPICE_MAX_MEMORY` (bytes, or with a
/// K/M/G/T suffix) replaces it, and commands with `--max-memory` set that variable.
public enum MemoryBudget {
    /// The environment variable that overrides the measured budget.
    public static let overrideVariable = "DFCSPICE_MAX_MEMORY"

    /// Requests up to this many bytes are granted without looking (16 MiB).
    public static let alwaysAllowed = 16 << 20

    /// The bytes a new allocation may take now.
    public static var available: UInt64 {
        if let text = ProcessInfo.processInfo.environment[overrideVariable], let bytes = parseBytes(text) { return bytes }
        var budget = memAvailable ?? ProcessInfo.processInfo.physicalMemory
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            let cap = UInt64(limit.rlim_cur), used = virtualSize ?? 0
            budget = min(budget, cap > used ? cap - used : 0)
        }
        return budget
    }

    /// "12 GiB", "340 MiB": for messages.
    public static func describe(_ bytes: UInt64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    /// Throws when `bytes` (nil: the size overflowed 64 bits) exceeds the budget; `what`
    /// says what needs them ("the model's 3 weight matrices").
    public static func require(_ bytes: Int?, for what: String) throws {
        guard let bytes, bytes >= 0 else {
            throw LinearAlgebraError.tooLarge("\(what) would need more than 2⁶³ bytes")
        }
        // Small requests pass without reading /proc: an .npz of 70 000 small arrays asks
        // 140 000 times, and no machine this runs on lacks 16 MiB.
        if bytes <= Self.alwaysAllowed { return }
        let budget = available
        if UInt64(bytes) > budget {
            throw LinearAlgebraError.tooLarge("\(what) would need about \(describe(UInt64(bytes))), more than the \(describe(budget)) available (set \(overrideVariable) or --max-memory to allow it)")
        }
    }

    /// Σ_k Π factors_k × `scale` without overflow, or nil.
    public static func product(_ factors: [Int], scale: Int = 1) -> Int? {
        var p = scale
        for f in factors {
            guard f >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: f)
            if o { return nil }
            p = r
        }
        return p
    }

    /// a + b without overflow, or nil.
    public static func sum(_ terms: [Int?]) -> Int? {
        var s = 0
        for t in terms {
            guard let t else { return nil }
            let (r, o) = s.addingReportingOverflow(t)
            if o { return nil }
            s = r
        }
        return s
    }

    /// "8G", "512M", "1000000": bytes, or nil for anything else.
    public static func parseBytes(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let scales: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = t.last, let scale = scales[last] {
            guard let n = UInt64(t.dropLast()) else { return nil }
            let (r, o) = n.multipliedReportingOverflow(by: scale)
            return o ? nil : r
        }
        return UInt64(t)
    }

    static var memAvailable: UInt64? { kibField("MemAvailable:", in: "/proc/meminfo") }
    static var virtualSize: UInt64? { kibField("VmSize:", in: "/proc/self/status") }

    /// A "Name:   1234 kB" line of a /proc file, in bytes.
    static func kibField(_ name: String, in path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter(\.isNumber)
            return UInt64(digits).map { $0 * 1024 }
        }
        return nil
    }
}
