import LinearAlgebra

// The element-wise work of `Dynamics.runChunk`: the Euler steps, the noise, the plasticity
// sums and the handling of diverged samples.
extension Dynamics {
    /// x += gain·(−x + a + b): the leaky-integrator Euler step (b nil: x += gain·(a − x)).
    /// Returns how many of the values named by `census` (the new x, b as `.input`) are not
    /// within ±bound (NaN counts), counted while they are in registers so that the divergence
    /// test need not read them again (`VectorMath.eulerStep`).
    @inline(__always)
    func eulerSoma(_ x: inout Matrix, basal a: Matrix, apical b: Matrix?, gain: Double,
                   census: VectorMath.Census = [], bound: Double = .infinity) -> Int {
        x.storage.withUnsafeMutableBufferPointer { px in
            a.storage.withUnsafeBufferPointer { pa in
                guard let b else { return VectorMath.eulerStep(px, pa, nil, gain: gain, census: census, bound: bound) }
                return b.storage.withUnsafeBufferPointer { pb in
                    VectorMath.eulerStep(px, pa, pb, gain: gain, census: census, bound: bound)
                }
            }
        }
    }

    /// x += scale·ξ (ξ from `lanes`), or with `drive` the leaky step x += gain·(drive − x)
    /// fused with it; returns how many new values are not within ±bound.
    func addNoise(_ x: inout Matrix, scale: Double, lanes: inout NormalLanes, drive: Matrix? = nil, gain: Double = 0,
                  bound: Double = .infinity) -> Int {
        x.storage.withUnsafeMutableBufferPointer { px in
            guard let drive else { return lanes.step(px, scale: scale, bound: bound) }
            return drive.storage.withUnsafeBufferPointer { lanes.step(px, drive: $0, gain: gain, scale: scale, bound: bound) }
        }
    }

    /// d = a − b in one pass.
    @inline(__always)
    func subtract(_ a: Matrix, _ b: Matrix, into d: inout Matrix) {
        d.storage.withUnsafeMutableBufferPointer { pd in
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    for k in pd.indices { pd[k] = pa[k] - pb[k] }
                }
            }
        }
    }

    /// How many elements are not within ±bound (NaN counts as outside).
    func countOutside(_ m: Matrix, _ bound: Double) -> Int {
        m.storage.withUnsafeBufferPointer { VectorMath.countOutside($0, bound: bound) }
    }

    func rowWithin(_ ms: [Matrix], _ s: Int, bound: Double) -> Bool {
        for m in ms {
            let base = s * m.columns
            for j in 0..<m.columns where !(abs(m.storage[base + j]) <= bound) { return false }
        }
        return true
    }

    func addColumnSums(_ m: Matrix, _ w: Double, into sums: inout [Double]) {
        for i in 0..<m.rows {
            let base = i * m.columns
            for j in 0..<m.columns { sums[j] += w * m.storage[base + j] }
        }
    }

    func freeze(sample s: Int, v: inout [Matrix], r: inout [Matrix], vB: inout [Matrix], vA: inout [Matrix],
                        uInt: inout Matrix, u: inout Matrix, e: inout Matrix, target: inout Matrix,
                        feedforward: FeedforwardState) {
        func copyRow(_ src: Matrix, into dst: inout Matrix) {
            for j in 0..<dst.columns { dst[s, j] = src[s, j] }
        }
        for i in 0..<v.count {
            copyRow(feedforward.potentials[i], into: &v[i])
            copyRow(feedforward.potentials[i], into: &vB[i])
            copyRow(feedforward.rates[i + 1], into: &r[i + 1])
            for j in 0..<vA[i].columns { vA[i][s, j] = 0 }
        }
        copyRow(feedforward.output, into: &target)
        for j in 0..<u.columns {
            uInt[s, j] = 0
            u[s, j] = 0
            e[s, j] = 0
        }
    }
}
