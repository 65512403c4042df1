import Circuit
import Foundation
import LinearAlgebra
import Testing

@Suite("Conductance drift")
struct DriftTests {
    func weights(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix {
        var g = SeededGenerator(seed: seed)
        var w = Matrix(rows: rows, columns: columns)
        for k in 0..<w.storage.count { w.storage[k] = g.nextNormal() }
        return w
    }

    @Test("one ν for every device: G and the realised weights scale by (t/t_c)^(−ν) exactly")
    func uniformExponent() {
        var d = DeviceModel()
        d.levels = 64
        d.programmingNoise = 0.02
        let w = weights(20, 30, seed: 1)
        var f1 = SeededGenerator(seed: 5), n1 = SeededGenerator(seed: 6)
        let fresh = d.program(w, faults: &f1, noise: &n1)
        d.driftTime = 3600
        d.driftNu = 0.05
        var f2 = SeededGenerator(seed: 5), n2 = SeededGenerator(seed: 6)
        let drifted = d.program(w, faults: &f2, noise: &n2)
        let factor = Foundation.pow(3600 / 20, -0.05)
        for k in 0..<w.storage.count {
            #expect(abs(drifted.gPlus.storage[k] - factor * fresh.gPlus.storage[k]) <= 1e-15 * fresh.gPlus.storage[k])
            #expect(abs(drifted.realised.storage[k] - factor * fresh.realised.storage[k]) <= 1e-12 * (1 + abs(fresh.realised.storage[k])))
        }
        // Read before t_c, nothing has drifted.
        d.driftTime = 10
        var f3 = SeededGenerator(seed: 5), n3 = SeededGenerator(seed: 6)
        #expect(d.program(w, faults: &f3, noise: &n3).gPlus == fresh.gPlus)
    }

    @Test("ν per device: N(ν̄, σ_ν²) from the device seed, the same at every reprogramming, clipped at 0")
    func perDeviceExponents() {
        var d = DeviceModel()
        d.driftTime = 86_400
        d.driftNu = 0.06
        d.driftNuSpread = 0.02
        let w = weights(60, 60, seed: 2)
        var plain = d
        plain.driftTime = 0
        var f0 = SeededGenerator(seed: 8), n0 = SeededGenerator(seed: 9)
        let fresh = plain.program(w, faults: &f0, noise: &n0)
        var f1 = SeededGenerator(seed: 8), n1 = SeededGenerator(seed: 9)
        let a = d.program(w, faults: &f1, noise: &n1)
        // Another programming round (fresh programming noise stream), the same devices.
        var f2 = SeededGenerator(seed: 8), n2 = SeededGenerator(seed: 99)
        let b = d.program(w, faults: &f2, noise: &n2)
        let logRatio = Foundation.log(86_400.0 / 20)
        let nuA = (0..<w.storage.count).map { -Foundation.log(a.gPlus.storage[$0] / fresh.gPlus.storage[$0]) / logRatio }
        let nuB = (0..<w.storage.count).map { -Foundation.log(b.gPlus.storage[$0] / fresh.gPlus.storage[$0]) / logRatio }
        for k in nuA.indices { #expect(abs(nuA[k] - nuB[k]) < 1e-12) }
        #expect(nuA.allSatisfy { $0 >= -1e-15 })
        let mean = nuA.reduce(0, +) / Double(nuA.count)
        let sd = (nuA.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(nuA.count - 1)).squareRoot()
        // 3 600 draws of N(0.06, 0.02²), 0.1 % of them below 0 and clipped.
        #expect(abs(mean - 0.06) < 0.002, "mean ν \(mean)")
        #expect(abs(sd / 0.02 - 1) < 0.05, "σ_ν \(sd)")
    }

    @Test("bad drift values are refused naming the key")
    func validation() {
        for (key, set) in [("driftNu", { (d: inout DeviceModel) in d.driftNu = -0.1 }), ("driftNuSpread", { d in d.driftNuSpread = .nan }),
                           ("driftTime", { d in d.driftTime = -1 }), ("driftReferenceTime", { d in d.driftReferenceTime = 0 })] {
            var d = DeviceModel()
            set(&d)
            do { try d.validate(); Issue.record("accepted \(key)") } catch let e as InvalidElementError {
                #expect(e.element == "circuit.device.\(key)", "\(e)")
            } catch { Issue.record("\(error)") }
        }
    }
}
