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

    @Test("step equals the unfused Euler step then fill(add:), bit for bit, at every level, and counts what leaves ±bound")
    func fusedStep() {
        let n = 1003  // a partial last block
        let drive = (0..<n).map { sin(Double($0)) * 3 }
        var start = (0..<n).map { Double($0 % 17) - 8 }
        start[5] = .nan
        start[900] = 40  // outside the bound in the partial block's neighbourhood after the step
        let gain = 0.566, scale = 0.7, bound = 4.0
        var reference = start
        for k in 0..<n { reference[k] += gain * (drive[k] - reference[k]) }
        var plain = NormalLanes(generator: SeededGenerator(seed: 3))
        plain.fill(&reference, scale: scale, add: true)
        let expectedOutside = reference.filter { !(abs($0) <= bound) }.count
        #expect(expectedOutside > 2)
        for level in [0, 3, 4] where level <= VectorMath.kernelLevel {
            var lanes = NormalLanes(generator: SeededGenerator(seed: 3))
            var x = start
            let outside = x.withUnsafeMutableBufferPointer { px in
                drive.withUnsafeBufferPointer { lanes.step(px, drive: $0, gain: gain, scale: scale, bound: bound, kernelLevel: level) }
            }
            #expect(x.elementsEqual(reference) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "level \(level)")
            #expect(outside == expectedOutside, "level \(level)")
            #expect(lanes.state == plain.state)
            // Without a drive: fill(add:) with the count.
            var noDrive = NormalLanes(generator: SeededGenerator(seed: 3))
            var y = drive
            let counted = y.withUnsafeMutableBufferPointer { noDrive.step($0, scale: scale, bound: 1, kernelLevel: level) }
            var added = drive
            var again = NormalLanes(generator: SeededGenerator(seed: 3))
            again.fill(&added, scale: scale, add: true)
            #expect(y == added)
            #expect(counted == added.filter { abs($0) > 1 }.count)
        }
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

    /// Lane l's next value, written from the algorithm's description with glibc's exp and
    /// log: the rectangle test, Marsaglia's tail, the wedge test with a retry.
    static func referenceDraw(_ g: inout SeededGenerator) -> Double {
        let x = Ziggurat.x, ratio = Ziggurat.ratio, r = Ziggurat.r
        func layerAndUnit(_ bits: UInt64) -> (Int, Double) {
            (Int(bits & 0x7F), 2 * Double(bitPattern: (bits >> 12) | 0x3FF0_0000_0000_0000) - 3)
        }
        var (i, u) = layerAndUnit(g.next())
        if abs(u) < ratio[i] { return u * x[i] }
        while true {
            if i == 0 {
                while true {
                    let a = log(g.nextOpenUnit()) / r, b = log(g.nextOpenUnit())
                    if -2 * b >= a * a { return u < 0 ? a - r : r - a }
                }
            }
            let xi = u * x[i]
            let f0 = exp(-0.5 * (x[i] * x[i] - xi * xi)), f1 = exp(-0.5 * (x[i + 1] * x[i + 1] - xi * xi))
            if f1 + g.nextOpenUnit() * (f0 - f1) < 1 { return xi }
            (i, u) = layerAndUnit(g.next())
            if abs(u) < ratio[i] { return u * x[i] }
        }
    }

    @Test("every draw, the ≈ 1 % outside the rectangles included, is the reference ziggurat's on its lane's stream")
    func slowPathMatchesReference() {
        let values = Self.draws(seed: 7)
        var outside = 0
        for l in 0..<8 {
            var g = SeededGenerator(seed: 7).derived(UInt64(l))
            var k = l
            while k < values.count {
                let expected = Self.referenceDraw(&g)
                if values[k] != expected {
                    Issue.record("lane \(l), value \(k): \(values[k]) ≠ \(expected)")
                    return
                }
                if abs(expected) >= Ziggurat.x[1] * 0.9 { outside += 1 }
                k += 8
            }
        }
        #expect(outside > 1_000)  // the tail and the base layers' wedges were exercised
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
