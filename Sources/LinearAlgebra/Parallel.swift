import CBLAS
import Dispatch
import Foundation
import Synchronization

/// The project's one source of threads for numerics.
///
/// OpenBLAS runs single-threaded, always. Its own pthreads spin in `sched_yield`
/// between calls, and the models make thousands of small products per second, so that
/// spinning took 15–22 % of a training profile and stole the cores from the chunk
/// workers. Instead, parallelism comes from here: independent pieces of work (chunks of
/// a batch, halves of one large product) run on `DispatchQueue.concurrentPerform`, each
/// with single-threaded BLAS. Inside a region nothing splits again, so there is never
/// more than one level of threads.
public enum Parallel {
    /// Regions currently running; products split only when none is.
    private static let activeRegions = Atomic<Int>(0)

    /// Workers per region: the cores this process may use.
    public static let workers: Int = {
        openblas_set_num_threads(1)
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Sets OpenBLAS to one thread (idempotent); called before any BLAS work.
    @inline(__always)
    static func configure() { _ = workers }

    /// True while a region runs (then work stays on the calling thread).
    public static var isActive: Bool { activeRegions.load(ordering: .relaxed) > 0 }

    /// Runs `body(0..<count)` concurrently, one call per index; BLAS inside stays serial.
    /// The caller promises that iterations write disjoint memory (each its own slab or
    /// slot); that is what makes handing a non-`Sendable` closure to the workers sound.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        configure()
        if count <= 1 || isActive {
            for i in 0..<count { body(i) }
            return
        }
        activeRegions.add(1, ordering: .relaxed)
        withoutActuallyEscaping(body) { body in
            let shared = unsafeBitCast(body, to: (@Sendable (Int) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: count, execute: shared)
        }
        activeRegions.subtract(1, ordering: .relaxed)
    }

    /// Splits 0..<count into at most `parts` contiguous slabs, each a multiple of 8 long
    /// but the last, and runs `body(slab index, range)` for each through `forEach`.
    public static func forEachSlab(of count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = max(1, parts)
        let block = ((count + parts - 1) / parts + 7) / 8 * 8
        forEach((count + block - 1) / block) { s in
            body(s, (s * block)..<min(count, (s + 1) * block))
        }
    }
}

