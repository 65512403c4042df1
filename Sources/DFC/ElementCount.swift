/// Element-wise evaluations per sample that the matrix products leave over, counted as the
/// dynamics do them: φ of a nonlinear layer (tanh in every Table 1 network; a linear layer
/// is a copy and does not count) and Gaussian draws of the Euler–Maruyama noise. With
/// `FlopCount`'s products they make the kernel floor that `dfcspice bench` prints: the
/// time an epoch needs when the products run at the dgemm peak and these at the measured
/// speed of our kernels, with nothing else (Euler updates, bookkeeping) costing anything.
public enum ElementCount {
    /// φ evaluations in one controlled (forward) run of `dfc` with `steps` Euler steps and
    /// the plasticity gathered over the trajectory (Eq. 5): φ(v_i) after every step, and
    /// φ(v_i^B) of layers 2…L at each of the steps + 1 states; layer 1's basal input is
    /// constant during a sample, so its φ(v_1^B) is taken once.
    ///
    ///     steps·Σ_i n_i + (steps + 1)·Σ_{i≥2} n_i + n_1        (nonlinear layers only)
    public static func controlledRunActivations(sizes: [Int], activations: [Activation], steps: Int) -> Double {
        nonlinearLayers(sizes, activations).reduce(0.0) { f, l in
            f + Double(steps) * l.n + (l.i > 1 ? Double(steps + 1) * l.n : l.n)
        }
    }

    /// φ evaluations in one feedback-phase run (Eq. 12–13) with `steps` Euler steps. The
    /// first step leaves the network at its feedforward state (u = 0 and v^A = 0 at rest,
    /// the noise enters v^A only), so φ(v_i) is evaluated after the other steps − 1.
    ///
    ///     (steps − 1)·Σ_i n_i        (nonlinear layers only)
    public static func feedbackRunActivations(sizes: [Int], activations: [Activation], steps: Int) -> Double {
        nonlinearLayers(sizes, activations).reduce(0.0) { f, l in f + Double(max(0, steps - 1)) * l.n }
    }

    /// Gaussian draws in one feedback-phase run: the leaky apical compartment of every unit
    /// of every layer takes one Euler–Maruyama increment per step.
    ///
    ///     steps·Σ_i n_i
    public static func feedbackRunDraws(sizes: [Int], steps: Int) -> Double {
        guard sizes.count >= 2 else { return 0 }
        return Double(steps) * Double(sizes.dropFirst().reduce(0, +))
    }

    /// (i, n_i) for the layers i = 1 … L whose φ is not linear.
    static func nonlinearLayers(_ sizes: [Int], _ activations: [Activation]) -> [(i: Int, n: Double)] {
        guard sizes.count >= 2 else { return [] }
        return (1..<sizes.count).compactMap { i in
            let phi = i - 1 < activations.count ? activations[i - 1] : .linear
            return phi == .linear ? nil : (i: i, n: Double(sizes[i]))
        }
    }
}
