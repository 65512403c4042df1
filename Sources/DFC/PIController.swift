import LinearAlgebra

/// The proportional–integral controller of Eq. 4:
///
///     u = u_int + k_p e,    τ_u du_int/dt = e − α·(leaked quantity)
///
/// with the control error e = r_L* − r_L. The leaked quantity is u_int (the paper)
/// or the total u (the published code), see `Conventions.Leak`.
public struct PIController: Sendable, Equatable {
    public var kp: Double
    public var alpha: Double
    /// τ_u, in the model's time units.
    public var tauU: Double
    public var leak: Conventions.Leak

    public init(kp: Double, alpha: Double, tauU: Double, leak: Conventions.Leak) {
        self.kp = kp
        self.alpha = alpha
        self.tauU = tauU
        self.leak = leak
    }

    /// α̃: at a steady state e = α̃·u. For the paper's leak α̃ = α/(1 + α k_p)
    /// (Lemma 1); for the code's leak of the total u, α̃ = α.
    public var effectiveLeak: Double {
        switch leak {
        case .integral: alpha / (1 + alpha * kp)
        case .total: alpha
        }
    }

    /// u = u_int + k_p e, written into `u`.
    @inlinable
    public func output(integral: Matrix, error e: Matrix, into u: inout Matrix) {
        u.storage = integral.storage
        u.addScaled(e, kp)
    }

    /// One forward-Euler step of the integrator: u_int += dt/τ_u (e − α·leaked).
    public func step(integral: inout Matrix, error e: Matrix, output u: Matrix, dt: Double) {
        let gain = dt / tauU
        let a = alpha
        let leaksTotal = leak == .total
        integral.storage.withUnsafeMutableBufferPointer { p in
            e.storage.withUnsafeBufferPointer { pe in
                u.storage.withUnsafeBufferPointer { pu in
                    if leaksTotal {
                        for k in p.indices { p[k] += gain * (pe[k] - a * pu[k]) }
                    } else {
                        for k in p.indices { p[k] += gain * (pe[k] - a * p[k]) }
                    }
                }
            }
        }
    }
}
