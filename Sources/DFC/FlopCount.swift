/// Matrix-product flops (2 per multiply-add) per sample of the pieces of a training epoch,
/// for a network with layer sizes n_0 … n_L. Element-wise work (φ, Euler updates, noise)
/// is not counted: these are the floors that float64 products alone set, which
/// `dfcspice bench` divides by the measured dgemm rate.
public enum FlopCount {
    /// One controlled (forward) run of `dfc` with `steps` Euler steps: the basal products
    /// W_i r_{i−1} of layers 2…L once per step, the apical Q_i u of every layer and the
    /// plasticity outer products d_i r_{i−1}ᵀ of layers 2…L at each of the steps + 1
    /// states. Layer 1's input is constant during a sample: its basal product and outer
    /// product are taken once per run and not counted.
    ///
    ///     steps·Σ_{i≥2} 2 n_i n_{i−1} + (steps + 1)·(Σ_{i≥2} 2 n_i n_{i−1} + Σ_i 2 n_i n_L)
    public static func controlledRun(sizes: [Int], steps: Int) -> Double {
        let basal = basalProducts(sizes)
        let apical = layers(sizes).reduce(0.0) { f, l in f + 2 * l.n * l.nL }
        return Double(steps) * basal + Double(steps + 1) * (basal + apical)
    }

    /// One feedback-phase run (Eq. 12–13) with `steps` Euler steps: the basal products of
    /// layers 2…L once per step, the apical Q_i u and the plasticity u v_i^Aᵀ of every
    /// layer at each of the steps + 1 states.
    ///
    ///     steps·Σ_{i≥2} 2 n_i n_{i−1} + (steps + 1)·Σ_i 4 n_i n_L
    public static func feedbackRun(sizes: [Int], steps: Int) -> Double {
        let basal = basalProducts(sizes)
        let apical = layers(sizes).reduce(0.0) { f, l in f + 4 * l.n * l.nL }
        return Double(steps) * basal + Double(steps + 1) * apical
    }

    /// A `dfc-ssa` update (Lemma 1): J·Q by the n_L-column recursion through layers 2…L,
    /// the controlled state's basal products and apical Q_i u_ss, and ΔW_i.
    ///
    ///     Σ_{i≥2} 2 n_L n_i n_{i−1} + Σ_i (4 n_i n_{i−1} + 2 n_i n_L)
    public static func steadyStateUpdate(sizes: [Int]) -> Double {
        layers(sizes).reduce(0) { f, l in f + (l.i > 1 ? 2 * l.nL * l.n * l.m : 0) + 4 * l.n * l.m + 2 * l.n * l.nL }
    }

    /// A backpropagation step: the forward pass, δ carried back to layer 1, and ΔW_i.
    ///
    ///     Σ_i 4 n_i n_{i−1} + Σ_{i≥2} 2 n_i n_{i−1}
    public static func backpropagation(sizes: [Int]) -> Double {
        layers(sizes).reduce(0) { f, l in f + 4 * l.n * l.m + (l.i > 1 ? 2 * l.n * l.m : 0) }
    }

    /// Σ_{i≥2} 2 n_i n_{i−1}: the basal products W_i r_{i−1} of layers 2…L once.
    static func basalProducts(_ sizes: [Int]) -> Double {
        layers(sizes).reduce(0.0) { f, l in f + (l.i > 1 ? 2 * l.n * l.m : 0) }
    }

    /// (i, n_i, n_{i−1}, n_L) for i = 1 … L, as doubles.
    static func layers(_ sizes: [Int]) -> [(i: Int, n: Double, m: Double, nL: Double)] {
        guard sizes.count >= 2, let last = sizes.last else { return [] }
        return (1..<sizes.count).map { (i: $0, n: Double(sizes[$0]), m: Double(sizes[$0 - 1]), nL: Double(last)) }
    }
}
