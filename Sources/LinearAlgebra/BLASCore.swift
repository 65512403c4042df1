import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernel set ("core") runs the products, and the one this CPU should run.
///
/// OpenBLAS picks its kernels once, when the library loads, from the CPU's model number.
/// Debian's 0.3.21 does not know the model numbers of newer Xeons and falls back to
/// `Prescott`, its SSE3 kernels: on the 2-core AVX-512 machines this project is measured
/// on that made dgemm 6× slower (15.5 GFLOP/s against 104–113 with the AVX-512 kernels,
/// docs/results.md). The environment variable `OPENBLAS_CORETYPE` overrides the choice, but
/// only before the library loads, so `dfcspice` sets it and re-executes itself
/// (`reexecWithRecommendedCoreIfNeeded`); `make test` exports the same choice.
public enum BLASCore {
    /// The kernel set OpenBLAS is using, as it names it (e.g. "Cooperlake", "Haswell", "Prescott").
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// What decides the bits of this process's arithmetic: the OpenBLAS core, the feature
    /// level of our own kernels (`VectorMath.kernelLevel`) and the cores products split over.
    /// Checkpoints record it; a resume under another one is not bit-identical to an unbroken
    /// run (docs/training.md, "What is bit-exact").
    public static var machineSignature: String {
        "OpenBLAS \(current), kernel level \(VectorMath.kernelLevel), \(Parallel.workers) cores"
    }

    /// The kernel set for a CPU with these `/proc/cpuinfo` flags, or nil when none of the
    /// vector kernels applies (OpenBLAS's own choice then stands):
    /// AVX-512 with BF16 → Cooperlake, AVX-512 F/BW/VL/DQ → SkylakeX, AVX2 with FMA → Haswell.
    /// These are the features OpenBLAS's kernels for those cores need.
    public static func recommended(cpuFlags flags: Set<String>) -> String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains)
        if avx512 && flags.contains("avx512_bf16") { return "Cooperlake" }
        if avx512 { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The flags of the first processor in `cpuinfo` (the text of /proc/cpuinfo).
    public static func cpuFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// How wide a kernel set's vectors are: 0 for everything before AVX2 (Prescott, Core2,
    /// Nehalem, Sandybridge, … and names this table does not know), 1 for AVX2 (Haswell, Zen),
    /// 2 for AVX-512 (SkylakeX), 3 with BF16 (Cooperlake), 4 for Sapphire Rapids.
    public static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "sapphirerapids": 4
        case "cooperlake": 3
        case "skylakex": 2
        case "haswell", "zen": 1
        default: 0
        }
    }

    /// Whether `current` should be replaced by `recommended`: only when the user has not
    /// chosen a core (`OPENBLAS_CORETYPE` unset) and OpenBLAS picked narrower kernels than the
    /// CPU's flags allow. A choice as wide or wider (Zen on an AVX2 CPU, a newer OpenBLAS's
    /// own name for a newer CPU) is kept.
    public static func shouldOverride(current: String, recommended: String?, userChoice: String?) -> Bool {
        guard let recommended, userChoice == nil else { return false }
        return rank(current) < rank(recommended)
    }

    /// Sets `OPENBLAS_CORETYPE` to the recommended core and re-executes this program with
    /// the same arguments when OpenBLAS picked narrower kernels and the user chose none.
    /// Returns (and the run goes on with OpenBLAS's own choice) when nothing needs to change
    /// or the re-execution fails; it never loops, because the variable is then set.
    /// Call it first in `main`, before any thread is started.
    public static func reexecWithRecommendedCoreIfNeeded() {
        // A set variable (the user's, a re-executed run's, every SPICE worker's) ends it
        // before /proc/cpuinfo is read.
        let userChoice = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        guard userChoice == nil, let text = readSmallFile("/proc/cpuinfo") else { return }
        let target = recommended(cpuFlags: cpuFlags(cpuinfo: text))
        guard shouldOverride(current: current, recommended: target, userChoice: userChoice), let target else { return }
        setenv("OPENBLAS_CORETYPE", target, 1)
        // The resolved path, not /proc/self/exe itself, so the process keeps its name in ps/top.
        var path = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &path, path.count - 1)
        guard n > 0 else { return }
        execv(path, CommandLine.unsafeArgv)
        // execv returns only on failure: run on with the kernels already loaded.
    }

    private static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 22 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
