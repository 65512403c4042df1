/// The `circuit` section of a config: how model quantities become volts, seconds and
/// component values (docs/circuit-mapping.md).
public struct CircuitParameters: Sendable, Equatable {
    /// Volts per unit of activation (s): a rate r is the voltage s·r.
    public var signalScale = 0.5
    /// Seconds per model time unit: τ_v(s) = tauV·timeScale, τ_u(s) = tauU·timeScale.
    public var timeScale = 5e-5
    /// R of the soma integrator's inputs and feedback (Ω); C = τ_v/R.
    public var somaResistance = 1e5
    /// R_e of the controller's integrator (Ω); C_u = τ_u/R_e, R_α = R_e/α.
    public var integratorResistance = 1e5
    /// R of the difference, summing and inverting stages (Ω).
    public var stageResistance = 1e4
    public var opAmp: OpAmpModel = .ideal(gain: 1e5)
    public var device = DeviceModel()
    /// Wire resistance of every crossbar (none by default).
    public var wire = CrossbarWires()
    /// Input DACs, the controller's ADC and DAC (none by default: exact voltages).
    public var converters = Converters()
    /// How tanh neurons compute φ: the equation, or a transistor circuit.
    public var activation: ActivationCircuit = .behavioral
    /// Simulation temperature, °C (ngspice's nominal is 27; it moves V_T of transistor circuits).
    public var temperature = BJTPairActivation.nominalTemperature
    /// Seed of the device draws (programming noise, stuck cells); nil: the config's seed.
    public var deviceSeed: UInt64?
    /// `.tran` step and stop (s); nil: dt·timeScale and steps·dt·timeScale.
    public var tranStep: Double?
    public var tranStop: Double?
    /// Largest internal step of ngspice's transient, seconds; nil: the `.tran` step. ngspice's
    /// truncation-error control still refines where the dynamics ask; a larger bound lets it take
    /// fewer points where they are slow (docs/circuit-mapping.md, "Transient steps").
    public var maxStep: Double?
    /// Crossbar cells as one-sided current sources (`Crossbar.oneSidedCells`): exact while every
    /// line is driven by an ideal source, so refused with wire resistance, nonlinear or noisy
    /// cells, and transistor op-amps, whose outputs feel the load.
    public var oneSidedCells = false
    /// Trim each TIA's and soma integrator's feedback resistor for the op-amp's finite
    /// DC gain A, so the closed-loop DC gain is exactly the ideal one (docs/circuit-mapping.md).
    /// Off: the circuit shows the finite-gain error ≈ (noise gain)/A per stage.
    public var trimFiniteGain = true
    /// Whether a feedforward pass (`evaluate`, the trainer's test error) reads through one
    /// read's noise per sample, σ² = readNoise² + readNoise1f²: by each row's law on the
    /// behavioral backend (`DCRead`), cell by cell in ngspice (`SpiceBackend.readOnce`). Off: a
    /// DC read sees the cells' own G.
    public var dcReadNoise = false

    /// Whether a DC read goes through noise: `dcReadNoise` on, and devices with read noise.
    public var readsThroughNoise: Bool { dcReadNoise && device.oneReadSigma > 0 }
    /// Rise time of the controller's enable, as a fraction of τ_v.
    public var enableRise = 1e-3
    /// Extra netlist lines (models, options), checked by `checkFragment`.
    public var include: [String] = []
    public var allowUnsafeInclude = false

    public init() {}

    public func validate() throws {
        func positive(_ x: Double, _ field: String) throws {
            guard x.isFinite, x > 0 else { throw InvalidElementError(element: "circuit.\(field)", reason: "must be positive and finite, got \(x)") }
        }
        try positive(signalScale, "signalScale")
        try positive(timeScale, "timeScale")
        try positive(somaResistance, "somaResistance")
        try positive(integratorResistance, "integratorResistance")
        try positive(stageResistance, "stageResistance")
        try positive(enableRise, "enableRise")
        if let s = tranStep { try positive(s, "tranStep") }
        if let s = tranStop { try positive(s, "tranStop") }
        if let s = maxStep { try positive(s, "maxStep") }
        if oneSidedCells {
            let why: String? = wire.isResistive || wire.segmentCapacitance > 0 ? "wire resistance or capacitance"
                : device.nonlinearityVoltage > 0 ? "nonlinear (sinh) cells"
                : device.readNoise > 0 || device.readNoise1f > 0 ? "read noise"
                : { if case .cmosTwoStage = opAmp { return "transistor op-amps" } else { return nil } }()
            if let why {
                throw InvalidElementError(element: "circuit.oneSidedCells",
                                          reason: "is exact only when ideal sources drive the crossbar lines; \(why) make the lines feel the cells' current")
            }
        }
        try device.validate()
        try wire.validate()
        try converters.validate()
        if let pair = activation.transistorCircuit, let (key, reason) = pair.problem {
            throw InvalidElementError(element: "circuit.activation.\(key)", reason: reason)
        }
        guard temperature.isFinite, temperature > -273.15 else {
            throw InvalidElementError(element: "circuit.temperature", reason: "must be a finite temperature above absolute zero (°C), got \(temperature)")
        }
    }
}
