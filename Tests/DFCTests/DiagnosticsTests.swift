@testable import DFC
import Foundation
import LinearAlgebra
import Testing

/// The diagnostics checked against computations that share none of their code.
@Suite("Diagnostics against independent computations")
struct DiagnosticsTests {
    /// Plain acos angle between two vectors, in degrees.
    func acosAngle(_ a: [Double], _ b: [Double]) -> Double {
        let ab = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return Foundation.acos(max(-1, min(1, ab / (na * nb)))) * 180 / .pi
    }

    @Test("linear net, Q = Jᵀ: the DFC update approaches the minimum-norm update as α, λ → 0, and angleToMN matches an independent J")
    func minimumNorm() throws {
        var angles: [Double] = []
        for (alpha, lambda) in [(0.1, 0.1), (1e-3, 1e-3), (1e-5, 1e-5)] {
            var c = testConfiguration([5, 4, 4, 3], hidden: .linear)
            c.feedbackInit = .weightProduct          // = Jᵀ for a linear network
            c.control.alpha = alpha
            c.control.lambda = lambda
            c.control.dt = 0.005
            c.control.steps = 12000
            let net = try randomNetwork(c, seed: 201)
            let solver = try Solver(network: net, configuration: c)
            let x = randomBatch(6, 5, seed: 202), y = randomBatch(6, 3, seed: 203)
            var g = SeededGenerator(seed: 1)
            let s = try solver.solve(input: x, labels: y, variant: .dfcSS, generator: &g)
            let d = try solver.diagnostics(for: s, input: x, labels: y)

            // Independent: J = [W3 W2, W3, I] by explicit products, z = Jᵀ (J Jᵀ)⁻¹ δ.
            let w = net.weights
            let j = Matrix.hstack([w[2] * w[1], w[2], .identity(3)])
            let ff = net.forward(x)
            var reference: [[Double]] = [[], [], []]
            var blocks = [Matrix(rows: 4, columns: 6), Matrix(rows: 4, columns: 5), Matrix(rows: 3, columns: 5)]
            for a in 0..<6 {
                let z = j.transposed * (try (j * j.transposed).solve(Matrix(column: s.delta.row(a))))
                var offset = 0
                for i in 0..<3 {
                    let n = net.sizes[i + 1]
                    let zi = Matrix(column: Array(z.storage[offset..<(offset + n)]))
                    blocks[i] += zi * Matrix(row: ff.rates[i].row(a) + [1])
                    offset += n
                }
            }
            for i in 0..<3 {
                reference[i] = blocks[i].columns(0..<(blocks[i].columns - 1)).storage + blocks[i].column(blocks[i].columns - 1)
            }
            let expected = acosAngle(flattenUpdate(s.dW, s.db), reference.flatMap { $0 })
            #expect(abs(d.angleToMN - expected) < 1e-4, "diagnostics \(d.angleToMN)°, independent \(expected)°")
            #expect(abs(d.condition2 - 1) < 1e-10, "Q = Jᵀ lies in the row space of J")
            angles.append(d.angleToMN)
        }
        #expect(angles[1] < angles[0] && angles[2] < angles[1], "angles \(angles)")
        #expect(angles[2] < 0.01, "angles \(angles)")
    }

    @Test("angleToGN matches Gauss–Newton with J_θ built by finite differences (tanh network)")
    func gaussNewton() throws {
        var c = testConfiguration([3, 4, 3, 2])
        c.feedbackInit = .weightProduct
        c.control.steps = 2000
        var net = try randomNetwork(c, seed: 211)
        let solver = try Solver(network: net, configuration: c)
        let x = randomBatch(3, 3, seed: 212), y = randomBatch(3, 2, seed: 213)
        var g = SeededGenerator(seed: 1)
        let s = try solver.solve(input: x, labels: y, variant: .dfc, generator: &g)
        let d = try solver.diagnostics(for: s, input: x, labels: y)

        // θ in flattenUpdate's order: W_i row-major, then b_i, layer by layer.
        func parameters(_ n: Network) -> [Double] { flattenUpdate(n.weights, n.biases) }
        func set(_ n: inout Network, _ k: Int, _ value: Double) {
            var k = k
            for i in 0..<n.depth {
                if k < n.weights[i].count { n.weights[i].storage[k] = value; return }
                k -= n.weights[i].count
                if k < n.biases[i].count { n.biases[i][k] = value; return }
                k -= n.biases[i].count
            }
        }
        let theta = parameters(net)
        var total = [Double](repeating: 0, count: theta.count)
        let h = 1e-6
        for a in 0..<3 {
            let xa = Matrix(row: x.row(a))
            var jTheta = Matrix(rows: 2, columns: theta.count)
            for k in 0..<theta.count {
                set(&net, k, theta[k] + h)
                let plus = net.forward(xa).output
                set(&net, k, theta[k] - h)
                let minus = net.forward(xa).output
                set(&net, k, theta[k])
                for o in 0..<2 { jTheta[o, k] = (plus[0, o] - minus[0, o]) / (2 * h) }
            }
            let step = jTheta.transposed * (try (jTheta * jTheta.transposed).solve(Matrix(column: s.delta.row(a))))
            for k in 0..<theta.count { total[k] += step.storage[k] }
        }
        let expected = acosAngle(flattenUpdate(s.dW, s.db), total)
        #expect(abs(d.angleToGN - expected) < 1e-3, "diagnostics \(d.angleToGN)°, independent \(expected)°")
        let ff = net.forward(x)
        let bp = try net.baselineUpdate(.backpropagation, feedforward: ff, lossGradient: Loss.mse.gradient(ff.output, y, reduction: .sum))
        #expect(abs(d.angleToBP - acosAngle(flattenUpdate(s.dW, s.db), flattenUpdate(bp.dW, bp.db))) < 1e-6)
    }

    @Test("the closed-loop matrix is the Jacobian of the vector field, for both leaks", arguments: Conventions.Leak.allCases)
    func closedLoop(leak: Conventions.Leak) throws {
        let c = testConfiguration([3, 4, 3, 2])
        let net = try randomNetwork(c, seed: 221)
        let x = randomBatch(2, 3, seed: 222)
        let ff = net.forward(x)
        let v = ff.potentials.map { $0 + randomBatch($0.rows, $0.columns, seed: 223, scale: 0.1) }
        let controller = PIController(kp: 1.3, alpha: 0.2, tauU: 1.5, leak: leak)
        let tauV = 0.3
        let target = randomBatch(2, 2, seed: 224)
        let s = 1
        // f(v, u_int) for sample s, by the defining equations.
        func field(_ state: [Double]) -> [Double] {
            var layers: [[Double]] = []
            var offset = 0
            for i in 0..<net.depth {
                layers.append(Array(state[offset..<(offset + net.sizes[i + 1])]))
                offset += net.sizes[i + 1]
            }
            let uInt = Array(state[offset...])
            let rL = layers[net.depth - 1].map { net.activations[net.depth - 1]($0) }
            let e = (0..<2).map { target[s, $0] - rL[$0] }
            let u = (0..<2).map { uInt[$0] + controller.kp * e[$0] }
            var out: [Double] = []
            for i in 0..<net.depth {
                let pre = i == 0 ? x.row(s) : layers[i - 1].map { net.activations[i - 1]($0) }
                let basal = net.weights[i].times(pre)
                let apical = net.feedback[i].times(u)
                for k in 0..<net.sizes[i + 1] {
                    out.append((-layers[i][k] + basal[k] + net.biases[i][k] + apical[k]) / tauV)
                }
            }
            for k in 0..<2 {
                let leaked = leak == .integral ? uInt[k] : u[k]
                out.append((e[k] - controller.alpha * leaked) / controller.tauU)
            }
            return out
        }
        let state = v.flatMap { $0.row(s) } + [0.3, -0.2]
        let m = net.closedLoopMatrix(at: v, sample: s, controller: controller, tauV: tauV)
        let h = 1e-6
        for k in 0..<state.count {
            var p = state, q = state
            p[k] += h
            q[k] -= h
            let fp = field(p), fq = field(q)
            for r in 0..<state.count {
                #expect(abs((fp[r] - fq[r]) / (2 * h) - m[r, k]) < 1e-7, "M[\(r), \(k)]")
            }
        }
    }
}
