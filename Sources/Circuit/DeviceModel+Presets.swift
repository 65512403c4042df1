extension DeviceModel {
    /// Named device models whose numbers come from published device data; every number and
    /// its source is listed in docs/circuit-mapping.md, "Device presets". A config's own
    /// `circuit.device` keys override a preset's.
    public static let presetNames = ["pcm", "reram"]

    /// The preset `name`, or nil if there is none.
    public static func preset(_ name: String) -> DeviceModel? {
        var d = DeviceModel()
        d.preset = name
        switch name {
        case "pcm":
            // IBM's PCM statistics (aihwkit PCMLikeNoiseModel; Nandakumar et al., ICECS 2019;
            // Joshi et al., Nat. Commun. 11, 2473, 2020), measured on a million devices.
            d.gMax = 25e-6
            d.gMin = 0.25e-6
            // σ_prog = 0.26348 + 1.9650 g − 1.1731 g² µS at g = G/25 µS, here in units of gMax.
            d.programmingNoisePolynomial = [0.26348 / 25, 1.9650 / 25, -1.1731 / 25]
            // ν over the middle of the range (the fit gives 0.049–0.1 and spreads 0.008–0.045
            // by state; at G = 0.1·gMax: 0.060 and 0.023), t_c = 20 s; read 1 hour after programming.
            d.driftNu = 0.060
            d.driftNuSpread = 0.023
            d.driftReferenceTime = 20
            d.driftTime = 3600
            // 1/f read noise: Q_s = 0.0088 at gMax, accumulated over a 250 µs read with
            // t_read = 250 ns: 0.0088·√ln(250 µs / 500 ns) = 0.022.
            d.readNoise1f = 0.022
        case "reram":
            // Wan et al., Nature 608, 504 (2022), as fitted in aihwkit's ReRamWan2022NoiseModel:
            // g_max = 40 µS and the programming error 1 s after programming,
            // σ = 0.348 + 16.030 g − 43.853 g² + 45.393 g³ − 16.815 g⁴ µS, g = G/40 µS.
            d.gMax = 40e-6
            d.gMin = 0.4e-6
            d.programmingNoisePolynomial = [0.348 / 40, 16.030 / 40, -43.853 / 40, 45.393 / 40, -16.815 / 40]
            // aihwkit's note to that model: short-term read noise of about 1 %.
            d.readNoise = 0.01
            // sinh I–V of the Stanford–PKU RRAM compact model (Jiang et al., IEEE TED 63, 1884, 2016), V₀ = 0.25 V.
            d.nonlinearityVoltage = 0.25
        default:
            return nil
        }
        return d
    }
}

extension DeviceModel {
    /// σ of one DC read relative to G, σ² = white² + 1/f²: a read sees each cell once, through
    /// both parts of its noise (`circuit.dcReadNoise`).
    public static func oneReadSigma(white: Double, pink: Double) -> Double { (white * white + pink * pink).squareRoot() }

    /// `oneReadSigma` of these devices' `readNoise` and `readNoise1f`.
    public var oneReadSigma: Double { Self.oneReadSigma(white: readNoise, pink: readNoise1f) }

    /// The device physics beyond range, levels and stuck cells, in one line ("off" when none).
    public var physicsSummary: String { physicsParts.isEmpty ? "off" : physicsParts.joined(separator: ", ") }

    /// `physicsSummary` part by part.
    public var physicsParts: [String] {
        var parts: [String] = []
        if let preset { parts.append("preset \(preset)") }
        if programmingNoisePolynomial.contains(where: { $0 != 0 }) {
            parts.append("programming noise sigma(G)/gMax = sum c_i (G/gMax)^i, c = ("
                + programmingNoisePolynomial.map { String(format: "%.4g", $0) }.joined(separator: ", ") + ")")
        }
        if deviceVariation > 0 { parts.append("device-to-device variation \(deviceVariation)") }
        if readNoise > 0 || readNoise1f > 0 { parts.append("read noise \(readNoise) white + \(readNoise1f) 1/f (relative rms)") }
        if nonlinearityVoltage > 0 { parts.append("I = G V0 sinh(V/V0), V0 = \(nonlinearityVoltage) V") }
        return parts
    }
}
