import DFC
import LinearAlgebra

extension DFCCircuitMapper {
    /// The circuit of the noise-driven feedback phase (Eq. 12–13) for one sample: the
    /// controller and somas take the `feedback` parameters of the config (k_p, α, τ_v, τ_u,
    /// dt, steps), each apical TIA gets a capacitor across its feedback resistor so the
    /// apical compartment is a leaky integrator of τ_A = `feedback.apicalTau` (when > 0), and
    /// white noise of intensity σ_fb enters every apical summing node from a PWL source whose
    /// samples come from `noiseSeed` (ngspice's TRNOISE cannot be seeded reproducibly).
    /// The target should be the feedforward output (δ = 0).
    public func mapFeedbackPhase(network: Network, input: [Double], target: [Double], noiseSeed: UInt64,
                                 programmingRound: UInt64 = 0) throws -> MappedCircuit {
        var c = configuration
        let f = c.feedback
        c.control.kp = f.kp
        c.control.alpha = f.alpha
        c.control.tauV = f.tauV
        c.control.tauU = f.tauU
        c.control.dt = f.dt
        c.control.steps = f.steps
        c.control.sigma = 0
        let phaseMapper = try DFCCircuitMapper(configuration: c, parameters: parameters)
        var mapped = try phaseMapper.map(network: network, input: input, target: target, phase: .controlled,
                                         programmingRound: programmingRound)
        let p = parameters
        let step = phaseMapper.transientStep
        let points = Int((Double(f.steps) * f.dt * p.timeScale / step).rounded(.up)) + 1
        let amplitude = p.signalScale * f.sigma / (step / p.timeScale).squareRoot()
        var g = SeededGenerator(seed: noiseSeed)
        for i in 0..<network.depth {
            let layer = i + 1
            let rf = 1 / mapped.gUnitFeedback[i]
            for j in 0..<network.weights[i].rows {
                let node = { Nodes.neuron(layer, j, $0) }
                let tag = { (part: String) in SpiceName("L", String(layer), "_N", String(j), "_", part) }
                if f.apicalTau > 0 {
                    mapped.circuit.elements.append(.capacitor(tag("apicalC"), node("asum"), node("apical"), farads: f.apicalTau * p.timeScale / rf))
                }
                if f.sigma > 0 {
                    // The first sample is 0: the operating point (the feedforward state the
                    // target was taken from) must not see the noise.
                    let samples = (0..<points).map { k in (time: Double(k) * step, value: k == 0 ? 0 : amplitude * g.nextNormal()) }
                    mapped.circuit.elements.append(.voltageSource(tag("fbnoise"), node("fbn"), .ground, .pwl(samples, parameterScaled: nil)))
                    mapped.circuit.elements.append(.resistor(tag("apicalN"), node("fbn"), node("asum"), ohms: rf))
                }
            }
        }
        mapped.circuit.header.append("feedback phase: k_p = \(f.kp), alpha = \(f.alpha), tau_A = \(f.apicalTau), sigma_fb = \(f.sigma), noise seed \(noiseSeed).")
        try mapped.circuit.validate()
        return mapped
    }
}
