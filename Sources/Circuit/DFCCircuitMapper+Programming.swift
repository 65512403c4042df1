import DFC
import LinearAlgebra

/// The device arrays of one programming of a network: [W_i | b_i] and Q_i per layer.
public struct ProgrammedNetwork: Sendable {
    public var forward: [ProgrammedArray]
    public var feedback: [ProgrammedArray]
    /// The network with every W_i, b_i, Q_i replaced by what the devices realise.
    public var realised: Network
    public var clipped: Int
    public var stuck: Int
    /// The `programmingRound` it was drawn in.
    public var round: UInt64

    /// Every array in device-stream order: [W_1 | b_1], Q_1, [W_2 | b_2], Q_2, ….
    public var arrays: [ProgrammedArray] { zip(forward, feedback).flatMap { [$0, $1] } }

    /// The shape (rows × columns) of every array `network` is programmed into, in the order of
    /// `arrays`: [W_i | b_i] has one column more than W_i, for the bias line; Q_i is Q_i.
    public static func arrayShapes(of network: Network) -> [(rows: Int, columns: Int)] {
        (0..<network.depth).flatMap { i in
            [(network.weights[i].rows, network.weights[i].columns + 1),
             (network.feedback[i].rows, network.feedback[i].columns)]
        }
    }
}

extension DFCCircuitMapper {
    /// Programs every crossbar of `network` through the device model, in the order and
    /// from the streams the netlist uses: the behavioral backend reads the same realised
    /// weights without building the circuit.
    ///
    /// An array's stuck cells come from the device seed and its index alone (they stay stuck).
    /// Its programming noise comes from the device seed, its index, `programmingRound` and a
    /// `Fingerprint` of the values asked of it: an array whose values have not changed keeps
    /// its realisation, as a crossbar that is not rewritten does, and one whose values changed
    /// gets fresh noise. Training keeps round 0, so a resumed run realises exactly what the
    /// interrupted one held without recording when each array was last written; `evaluate`
    /// draws independent programmings of the same weights as rounds 0, 1, 2, ….
    ///
    /// `reusing` (the network and arrays of a previous programming by this mapper) skips the
    /// arrays whose values are unchanged; the result is the same as programming them again.
    ///
    /// With resistive wires, `irDropAnchors` (one per array, in `ProgrammedNetwork.arrays`
    /// order) makes each rewritten array follow its anchor's exact map linearly
    /// (`IRDropAnchor.map`) instead of solving its nodes; nil (the default) solves every
    /// rewritten array, and every array whose map was only followed, exactly.
    public func programArrays(network: Network, programmingRound: UInt64 = 0,
                              reusing previous: (requested: Network, arrays: ProgrammedNetwork)? = nil,
                              irDropAnchors: [IRDropAnchor?]? = nil) -> ProgrammedNetwork {
        let deviceRoot = SeededGenerator(seed: parameters.deviceSeed ?? configuration.seed)
        let faultRoot = deviceRoot.derived(0xC1_5C)
        let noiseRoot = deviceRoot.derived(0x7015E).derived(programmingRound)
        func program(_ values: Matrix, array index: UInt64) -> ProgrammedArray {
            var faults = faultRoot.derived(index)
            var noise = noiseRoot.derived(index).derived(values.fingerprint)
            var array = parameters.device.program(values, faults: &faults, noise: &noise)
            if parameters.wire.isResistive {
                array.applyIRDrop(wires: parameters.wire, anchor: irDropAnchors.flatMap { Int(index) < $0.count ? $0[Int(index)] : nil })
            }
            return array
        }
        // An array whose map was only followed is solved again when exact maps are asked for.
        func keeps(_ array: ProgrammedArray) -> Bool { irDropAnchors != nil || array.irDropIsExact }
        // The previous arrays serve only when they came from the same round and shapes
        // (and, the caller's part, from this mapper).
        let old = previous.flatMap { $0.requested.sizes == network.sizes && $0.arrays.round == programmingRound ? $0 : nil }
        var out = ProgrammedNetwork(forward: [], feedback: [], realised: network, clipped: 0, stuck: 0, round: programmingRound)
        for i in 0..<network.depth {
            let inputs = network.weights[i].columns
            let w: ProgrammedArray
            if let old, old.requested.weights[i] == network.weights[i], old.requested.biases[i] == network.biases[i],
               keeps(old.arrays.forward[i]) {
                w = old.arrays.forward[i]
            } else {
                // W_i with b_i as the last column, driven by the constant bias lines.
                w = program(Matrix.hstack([network.weights[i], Matrix(column: network.biases[i])]), array: UInt64(2 * i))
            }
            out.realised.weights[i] = w.realised.columns(0..<inputs)
            out.realised.biases[i] = w.realised.column(inputs)
            let q: ProgrammedArray
            if let old, old.requested.feedback[i] == network.feedback[i], keeps(old.arrays.feedback[i]) {
                q = old.arrays.feedback[i]
            } else {
                q = program(network.feedback[i], array: UInt64(2 * i + 1))
            }
            out.realised.feedback[i] = q.realised
            out.forward.append(w)
            out.feedback.append(q)
            out.clipped += w.clipped + q.clipped
            out.stuck += w.stuckDevices + q.stuckDevices
        }
        return out
    }
}
