import DFC
import Foundation
import LinearAlgebra
import Spice

extension SpiceBackend {
    /// The circuit's feedforward output r_L⁻ for every row of `inputs` (its operating point with
    /// the controller gated off), `workers` samples at a time. A sample that does not converge
    /// is tried again with `relaxedOptions`; one that still fails is listed in `skipped` (row
    /// index) and its output row left at zero. Any other error ends the evaluation. With
    /// `circuit.dcReadNoise`, each sample reads once through the cells' noise (`readOnce`).
    public func feedforwardOutputs(inputs: Matrix, progress: (@Sendable (Int) -> Void)? = nil) throws -> (values: Matrix, skipped: [Int]) {
        let n = inputs.rows, nL = network.outputSize
        let results = Slots<[Double]?>(count: n)
        let done = Counter()
        DispatchQueue.concurrentPerform(iterations: min(workers, max(1, n))) { w in
            for s in stride(from: w, to: n, by: workers) {
                var output: [Double]?
                for options in [[], Self.relaxedOptions] {
                    do {
                        output = try feedforward(input: inputs.row(s), options: options, read: true).1
                        break
                    } catch let e as SimulationError where e.kind == .convergence || e.kind == .timeLimit {
                        continue
                    } catch {
                        results.fail(s, error)
                        return
                    }
                }
                results.set(s, output)
                progress?(done.increment())
            }
        }
        var values = Matrix(rows: n, columns: nL)
        var skipped: [Int] = []
        for s in 0..<n {
            guard let row = try results.get(s) else { skipped.append(s); continue }
            for j in 0..<nL { values[s, j] = row[j] }
        }
        return (values, skipped)
    }
}

/// A thread-safe count of finished work (samples, sweep points), for progress lines.
public final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    public init() {}
    /// Counts one more and returns the new count.
    public func increment() -> Int { lock.withLock { value += 1; return value } }
}
