import Foundation
@testable import LinearAlgebra
import Testing

@Suite("NormalLanes")
struct NormalLanesTests {
    static let count = 2_000_003  // not a multiple of 8: the last block is partial

    static func draws(seed: UInt64, level: Int = VectorMath.kernelLevel) -> [Double] {
        var lanes = NormalLanes(generator: SeededGenerator(seed: seed))
        var out = [Double](repeating: .nan, count: count)
        lanes.fill(&out, kernelLevel: level)
        return out
    }

    @Test("every feature level this CPU has gives the same draws bit for bit, and add = fill + existing")
    func levelsAgree() {
        let reference = Self.draws(seed: 11, level: 0)
        for level in [3, 4] where level <= VectorMath.kernelLevel {
            #expect(Self.draws(seed: 11, level: level) == reference, "level \(level)")
        }
        var lanes = NormalLanes(generator: SeededGenerator(seed: 11))
        var base = (0..<1003).map { Double($0) * 0.25 }
        let before = base
        lanes.fill(&base, scale: 0.5, add: true)
        var fresh = NormalLanes(generator: SeededGenerator(seed: 11))
        var z = [Double](repeating: 0, count: 1003)
        fresh.fill(&z, scale: 0.5)
        #expect(base == zip(before, z).map { $0 + $1 })
        #expect(lanes.state == fresh.state)
    }

    @Test("lane l is the xoshiro256** stream of generator.derived(l) through the ziggurat's rectangle test")
    func lanesAreSeededStreams() {
        let values = Self.draws(seed: 5)
        let x = Ziggurat.x
        // The table itself, by the property that defines it (Marsaglia–Tsang 2000): every
        // layer has area V under f(x) = exp(−x²/2); the base one is R·f(R) plus the tail.
        let f = { (t: Double) in exp(-0.5 * t * t) }
        let v = Ziggurat.v, r = Ziggurat.r
        #expect(abs(r * f(r) + (Double.pi / 2).squareRoot() * erfc(r / 2.0.squareRoot()) - v) < 1e-9 * v)
        for i in 1..<127 {
            #expect(abs(x[i] * (f(x[i + 1]) - f(x[i])) - v) < 1e-9 * v, "layer \(i)")
        }
        var checked = 0
        for l in 0..<8 {
            var g = SeededGenerator(seed: 5).derived(UInt64(l))
            for block in 0..<64 {
                let bits = g.next()
                let i = Int(bits & 0x7F)
                let u = 2 * Double(bitPattern: (bits >> 12) | 0x3FF0_0000_0000_0000) - 3
                // A miss takes the slow path, which draws more from the lane: stop there.
                guard abs(u) < x[i + 1] / x[i] else { break }
                #expect(values[8 * block + l] == u * x[i], "lane \(l) block \(block)")
                checked += 1
            }
        }
        #expect(checked > 8 * 20)
    }

    @Test("the draws are N(0, 1): moments, tail mass beyond the base layer, Kolmogorov–Smirnov, no lag correlation")
    func distribution() {
        let z = Self.draws(seed: 2026)
        let n = Double(z.count)
        let mean = z.reduce(0, +) / n
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let kurtosis = z.reduce(0) { $0 + pow($1 - mean, 4) } / n / (variance * variance)
        // Five standard errors each: √(1/n), √(2/n), √(96/n).
        #expect(abs(mean) < 5 / n.squareRoot())
        #expect(abs(variance - 1) < 5 * (2 / n).squareRoot())
        #expect(abs(kurtosis - 3) < 5 * (96 / n).squareRoot())
        // Beyond R the draws come from the tail algorithm alone.
        let pTail = erfc(3.442619855899 / 2.0.squareRoot())
        let tail = Double(z.filter { abs($0) > 3.442619855899 }.count)
        #expect(abs(tail - n * pTail) < 5 * (n * pTail * (1 - pTail)).squareRoot(), "\(tail) draws beyond R, expected \(n * pTail)")
        let sorted = z.sorted()
        var d = 0.0
        for (k, value) in sorted.enumerated() {
            let cdf = 0.5 * erfc(-value / 2.0.squareRoot())
            d = max(d, abs(cdf - Double(k) / n), abs(cdf - Double(k + 1) / n))
        }
        #expect(d < 1.95 / n.squareRoot(), "KS distance \(d)")  // the 0.1 % critical value
        for lag in [1, 7, 8, 9] {
            var c = 0.0
            for k in lag..<z.count { c += (z[k] - mean) * (z[k - lag] - mean) }
            #expect(abs(c / n / variance) < 5 / n.squareRoot(), "lag \(lag)")
        }
    }
}
