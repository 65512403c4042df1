import Circuit
import Foundation
import LinearAlgebra
import Spice
import Testing
import Training

@Suite("Device physics and presets")
struct DevicePhysicsTests {
    func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
    func sd(_ x: [Double]) -> Double {
        let m = mean(x)
        return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot()
    }

    @Test("state-dependent programming noise: G − G_t has σ(G_t) = gMax·Σ cᵢ(G_t/gMax)ⁱ at every state")
    func polynomialNoise() {
        var d = DeviceModel.preset("pcm") ?? DeviceModel()
        d.driftTime = 0
        let gUnitTargets = [0.2, 0.5, 0.9]   // w/w_max
        for u in gUnitTargets {
            // 40 000 devices asked for the same state; wMax 1 maps w = u to G_t = gMin + u·(gMax − gMin).
            d.wMax = 1
            let w = Matrix(rows: 200, columns: 100, repeating: u)
            var f = SeededGenerator(seed: 1), n = SeededGenerator(seed: 2)
            let p = d.program(w, faults: &f, noise: &n)
            let target = d.gMin + u * (d.gMax - d.gMin)
            let g = target / d.gMax
            let sigma = d.gMax * d.programmingNoisePolynomial.enumerated().reduce(0) { $0 + $1.element * Foundation.pow(g, Double($1.offset)) }
            let errors = p.gPlus.storage.map { $0 - target }
            // Sampling error of a standard deviation from 20 000 draws: 0.5 %; clipping at gMax trims the tail a little.
            #expect(abs(sd(errors) / sigma - 1) < 0.03, "state \(u): sd \(sd(errors)), σ \(sigma)")
            #expect(abs(mean(errors)) < 4 * sigma / Double(errors.count).squareRoot() + 0.02 * sigma)
        }
    }

    @Test("device-to-device variation: a fixed factor per device, the same at every reprogramming, σ as asked")
    func deviceVariation() {
        var d = DeviceModel()
        d.deviceVariation = 0.05
        var plain = DeviceModel()
        plain.deviceVariation = 0
        let w = Matrix(rows: 100, columns: 100) { r, c in Double((r * 7 + c * 3) % 11) / 10 - 0.5 }
        var f0 = SeededGenerator(seed: 3), n0 = SeededGenerator(seed: 4)
        let ideal = plain.program(w, faults: &f0, noise: &n0)
        var f1 = SeededGenerator(seed: 3), n1 = SeededGenerator(seed: 4)
        var f2 = SeededGenerator(seed: 3), n2 = SeededGenerator(seed: 77)
        let a = d.program(w, faults: &f1, noise: &n1), b = d.program(w, faults: &f2, noise: &n2)
        #expect(a.gPlus == b.gPlus && a.gMinus == b.gMinus)
        let ratios = (0..<w.storage.count).map { a.gPlus.storage[$0] / ideal.gPlus.storage[$0] - 1 }
        #expect(abs(sd(ratios) / 0.05 - 1) < 0.03)
        #expect(abs(mean(ratios)) < 0.002)
    }

    @Test("read noise samples: the asked white rms, 1/f spectrum (slope −1 ± 0.25), the same for the same seed")
    func noiseSamples() {
        var white = CellPhysics()
        white.white = 0.02
        white.step = 1e-6
        white.stop = 16383e-6
        white.seed = 9
        let w = white.noiseSamples(device: 1).dropFirst().map(\.value)
        #expect(abs(sd(w) / 0.02 - 1) < 0.03)
        #expect(white.noiseSamples(device: 1).map(\.value) == white.noiseSamples(device: 1).map(\.value))
        #expect(white.noiseSamples(device: 1).map(\.value) != white.noiseSamples(device: 2).map(\.value))
        var pink = white
        pink.white = 0
        pink.pink = 0.02
        // Average periodograms of 64 devices; fit log power against log frequency over the middle decades.
        let n = 16384
        var power = [Double](repeating: 0, count: n / 2)
        for device in 0..<64 {
            let x = pink.noiseSamples(device: UInt64(device)).map(\.value)
            #expect(abs(sd(x) / 0.02 - 1) < 0.5)
            power = zip(power, Self.periodogram(Array(x.prefix(n)))).map { $0 + $1 }
        }
        var xs: [Double] = [], ys: [Double] = []
        var k = 8
        while k < n / 8 {
            let band = power[k..<(2 * k)]
            xs.append(Foundation.log(Double(k) * 1.5))
            ys.append(Foundation.log(band.reduce(0, +) / Double(band.count)))
            k *= 2
        }
        let mx = mean(xs), my = mean(ys)
        var sxy = 0.0, sxx = 0.0
        for (a, b) in zip(xs, ys) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
        }
        let slope = sxy / sxx
        #expect(abs(slope + 1) < 0.25, "1/f slope \(slope)")
    }

    /// |FFT|² at bins 0..<n/2 by a radix-2 transform.
    static func periodogram(_ x: [Double]) -> [Double] {
        var re = x, im = [Double](repeating: 0, count: x.count)
        let n = x.count
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var len = 2
        while len <= n {
            let angle = -2 * Double.pi / Double(len)
            for start in stride(from: 0, to: n, by: len) {
                for k in 0..<(len / 2) {
                    let phase: Double = angle * Double(k)
                    let wr: Double = Foundation.cos(phase), wi: Double = Foundation.sin(phase)
                    let a = start + k, b = a + len / 2
                    let tr: Double = re[b] * wr - im[b] * wi
                    let ti: Double = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr; im[b] = im[a] - ti
                    re[a] += tr; im[a] += ti
                }
            }
            len <<= 1
        }
        return (0..<(n / 2)).map { re[$0] * re[$0] + im[$0] * im[$0] }
    }

    @Test("sinh cells in ngspice: each row's current is Σ G·V₀·sinh(V/V₀) (closed form)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ngspice")))
    func sinhCells() throws {
        var g = SeededGenerator(seed: 5)
        let rows = 3, columns = 4
        let gp = Matrix(rows: rows, columns: columns) { _, _ in 1e-6 + 40e-6 * g.nextOpenUnit() }
        let gn = Matrix(rows: rows, columns: columns) { _, _ in 1e-6 + 40e-6 * g.nextOpenUnit() }
        let x = (0..<columns).map { _ in 0.8 * g.nextOpenUnit() - 0.4 }
        var bar = Crossbar(prefix: "W1", rows: (0..<rows).map { .sanitized("row\($0)") },
                           plusLines: (0..<columns).map { .sanitized("xp\($0)") }, minusLines: (0..<columns).map { .sanitized("xn\($0)") },
                           gPlus: gp, gMinus: gn)
        bar.cells.nonlinearityVoltage = 0.25
        var lines = ["sinh crossbar"]
        for (c, v) in x.enumerated() { lines += ["Vxp\(c) xp\(c) 0 DC \(v)", "Vxn\(c) xn\(c) 0 DC \(-v)"] }
        for r in 0..<rows { lines.append("Vrow\(r) row\(r) 0 DC 0") }
        bar.forEachElement { e in lines += NgspiceDialect().lines(for: e, opAmp: .ideal(gain: 1)) }
        lines += [".op", ".end"]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Ngspice.run(netlist: lines.joined(separator: "\n") + "\n", in: dir)
        let plot = try #require(run.plots.first, "\(run.log)")
        for r in 0..<rows {
            // The cells push their current into the row and on through its 0 V source (+ to −).
            let measured = (try #require(plot.vector("i(vrow\(r))")).first ?? .nan)
            var expected = 0.0
            for c in 0..<columns {
                let plus: Double = gp[r, c] * 0.25 * Foundation.sinh(x[c] / 0.25)
                let minus: Double = gn[r, c] * 0.25 * Foundation.sinh(-x[c] / 0.25)
                expected += plus + minus
            }
            #expect(abs(measured - expected) <= 1e-6 * abs(expected) + 1e-15, "row \(r): \(measured) A, expected \(expected) A")
        }
        #expect(Ngspice.problems(run.log).isEmpty, "\(Ngspice.problems(run.log))")
    }

    @Test("presets: published numbers, config keys override them, an unknown preset is one error naming the key")
    func presets() throws {
        let pcm = try #require(DeviceModel.preset("pcm"))
        #expect(pcm.gMax == 25e-6 && pcm.driftReferenceTime == 20 && pcm.programmingNoisePolynomial.count == 3)
        let reram = try #require(DeviceModel.preset("reram"))
        #expect(reram.gMax == 40e-6 && reram.nonlinearityVoltage == 0.25 && reram.readNoise == 0.01)
        let base = "name: p\nnetwork: {sizes: [2, 2, 1]}\n"
        let e = try ConfigurationLoader.parseExperiment(base + "circuit: {device: {preset: pcm, driftTime: 86400, readNoise: 0.005}}")
        #expect(e.circuit.device.gMax == 25e-6 && e.circuit.device.driftTime == 86400 && e.circuit.device.readNoise == 0.005)
        for (text, key) in [("{preset: flash}", "circuit.device.preset"), ("{readNoise: -0.1}", "circuit.device.readNoise"),
                            ("{nonlinearityVoltage: .nan}", "circuit.device.nonlinearityVoltage"),
                            ("{deviceVariation: -1}", "circuit.device.deviceVariation"),
                            ("{programmingNoisePolynomial: [1, x]}", "circuit.device.programmingNoisePolynomial[1]")] {
            #expect(throws: (any Error).self) { try ConfigurationLoader.parseExperiment(base + "circuit: {device: \(text)}") }
            do { _ = try ConfigurationLoader.parseExperiment(base + "circuit: {device: \(text)}") } catch {
                #expect("\(error)".contains(key), "\(text): \(error)")
            }
        }
    }
}
