@testable import DFC
import LinearAlgebra
import Testing

@Suite("Gradients and Jacobians against finite differences")
struct GradientTests {
    @Test("J_i = ∂r_L/∂v_i matches central differences", arguments: [Activation.tanh, .sigmoid, .linear])
    func jacobian(hidden: Activation) throws {
        let c = testConfiguration([4, 5, 3, 2], hidden: hidden, output: .tanh)
        let net = try randomNetwork(c, seed: 11)
        let x = randomBatch(3, 4, seed: 12)
        let ff = net.forward(x)
        let h = 1e-6
        for s in 0..<3 {
            let j = net.jacobian(at: ff.potentials, sample: s)
            var column = 0
            for layer in 0..<net.depth {
                for unit in 0..<net.sizes[layer + 1] {
                    // Perturb v_layer[unit] and propagate the rest of the network.
                    func output(_ delta: Double) -> [Double] {
                        var v = ff.potentials[layer].row(s)
                        v[unit] += delta
                        var r = Matrix(row: v).map { net.activations[layer]($0) }
                        for k in (layer + 1)..<net.depth {
                            var b = Matrix(rows: 1, columns: net.sizes[k + 1])
                            net.basal(layer: k, r, into: &b)
                            r = net.activations[k].apply(b)
                        }
                        return r.storage
                    }
                    let plus = output(h), minus = output(-h)
                    for o in 0..<net.outputSize {
                        let fd = (plus[o] - minus[o]) / (2 * h)
                        #expect(abs(fd - j[o, column]) < 1e-8, "J[\(o), \(column)] layer \(layer + 1)")
                    }
                    column += 1
                }
            }
        }
    }

    @Test("bp's update is −∂L/∂θ by central differences", arguments: [Loss.mse, .crossEntropy], LossReduction.allCases)
    func backpropagation(loss: Loss, reduction: LossReduction) throws {
        let c = testConfiguration([3, 4, 4, 3], loss: loss)
        var net = try randomNetwork(c, seed: 21)
        let x = randomBatch(5, 3, seed: 22)
        var y = randomBatch(5, 3, seed: 23)
        if loss == .crossEntropy {
            y = Matrix(rows: 5, columns: 3) { i, j in j == i % 3 ? 1 : 0 }
        }
        let ff = net.forward(x)
        let g = loss.gradient(ff.output, y, reduction: reduction)
        let update = try net.baselineUpdate(.backpropagation, feedforward: ff, lossGradient: g)
        let h = 1e-6
        for layer in 0..<net.depth {
            for r in 0..<net.weights[layer].rows {
                for col in 0..<net.weights[layer].columns {
                    let w = net.weights[layer][r, col]
                    net.weights[layer][r, col] = w + h
                    let lp = net.loss(x, y, loss, reduction)
                    net.weights[layer][r, col] = w - h
                    let lm = net.loss(x, y, loss, reduction)
                    net.weights[layer][r, col] = w
                    let fd = -(lp - lm) / (2 * h)
                    #expect(isApproximatelyEqual(update.dW[layer][r, col], fd, relativeTolerance: 1e-6, absoluteTolerance: 1e-8))
                }
                let b = net.biases[layer][r]
                net.biases[layer][r] = b + h
                let lp = net.loss(x, y, loss, reduction)
                net.biases[layer][r] = b - h
                let lm = net.loss(x, y, loss, reduction)
                net.biases[layer][r] = b
                #expect(isApproximatelyEqual(update.db[layer][r], -(lp - lm) / (2 * h), relativeTolerance: 1e-6, absoluteTolerance: 1e-8))
            }
        }
    }

    @Test("fa with B_i = W_iᵀ and dfa with Q_i = Π W_kᵀ on a linear network both equal bp")
    func alignmentBaselinesReduceToBP() throws {
        var c = testConfiguration([3, 4, 4, 2], hidden: .linear)
        c.feedbackInit = .weightProduct
        var net = try randomNetwork(c, seed: 31)
        net.feedbackAlignment = (1..<net.depth).map { net.weights[$0].transposed }
        let x = randomBatch(4, 3, seed: 32), y = randomBatch(4, 2, seed: 33)
        let ff = net.forward(x)
        let g = Loss.mse.gradient(ff.output, y, reduction: .sum)
        let bp = flattenUpdate(try net.baselineUpdate(.backpropagation, feedforward: ff, lossGradient: g).dW, [[], [], []])
        let fa = flattenUpdate(try net.baselineUpdate(.feedbackAlignment, feedforward: ff, lossGradient: g).dW, [[], [], []])
        let dfa = flattenUpdate(try net.baselineUpdate(.directFeedbackAlignment, feedforward: ff, lossGradient: g).dW, [[], [], []])
        for k in bp.indices {
            #expect(abs(fa[k] - bp[k]) < 1e-12)
            #expect(abs(dfa[k] - bp[k]) < 1e-12)
        }
    }

    @Test("weight-product feedback is Q_i = W_{i+1}ᵀ⋯W_Lᵀ with Q_L = I")
    func weightProduct() throws {
        var c = testConfiguration([3, 4, 5, 2])
        c.feedbackInit = .weightProduct
        let net = try randomNetwork(c, seed: 41)
        let w = net.weights
        #expect(close(net.feedback[2], .identity(2)))
        #expect(close(net.feedback[1], w[2].transposed))
        #expect(close(net.feedback[0], w[1].transposed * w[2].transposed))
    }

    func close(_ a: Matrix, _ b: Matrix) -> Bool { a.rows == b.rows && a.columns == b.columns && (a - b).maxAbs < 1e-13 }
}
