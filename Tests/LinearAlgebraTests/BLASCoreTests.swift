import LinearAlgebra
import Testing

@Suite("OpenBLAS kernel choice")
struct BLASCoreTests {
    @Test("CPU flags map to the kernels that need them")
    func recommendation() {
        let skylake: Set = ["fpu", "sse2", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
        #expect(BLASCore.recommended(cpuFlags: skylake) == "SkylakeX")
        #expect(BLASCore.recommended(cpuFlags: skylake.union(["avx512_bf16"])) == "Cooperlake")
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "fma", "sse2"]) == "Haswell")
        // AVX-512F alone is not enough for the SkylakeX kernels (they use BW/VL/DQ).
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "sse2"]) == nil)
        #expect(BLASCore.recommended(cpuFlags: []) == nil)
    }

    @Test("/proc/cpuinfo's first flags line is read whole")
    func parsing() {
        let text = """
        processor\t: 0
        model name\t: Intel(R) Xeon(R) Processor
        flags\t\t: fpu avx2 fma avx512f
        bogomips\t: 4200.00

        processor\t: 1
        flags\t\t: fpu
        """
        #expect(BLASCore.cpuFlags(cpuinfo: text) == ["fpu", "avx2", "fma", "avx512f"])
        #expect(BLASCore.cpuFlags(cpuinfo: "no flags here").isEmpty)
    }

    @Test("The user's OPENBLAS_CORETYPE always wins; a core as wide as the flags allow is left alone")
    func override() {
        #expect(BLASCore.shouldOverride(current: "Prescott", recommended: "Cooperlake", userChoice: nil))
        #expect(!BLASCore.shouldOverride(current: "Prescott", recommended: "Cooperlake", userChoice: "Haswell"))
        #expect(!BLASCore.shouldOverride(current: "Prescott", recommended: "Cooperlake", userChoice: ""))
        #expect(!BLASCore.shouldOverride(current: "cooperlake", recommended: "Cooperlake", userChoice: nil))
        #expect(!BLASCore.shouldOverride(current: "Prescott", recommended: nil, userChoice: nil))
        // Only narrower kernels are replaced: OpenBLAS's own Zen on an AVX2 CPU, or a newer
        // core name than ours, stands.
        #expect(!BLASCore.shouldOverride(current: "Zen", recommended: "Haswell", userChoice: nil))
        #expect(!BLASCore.shouldOverride(current: "SapphireRapids", recommended: "Cooperlake", userChoice: nil))
        #expect(BLASCore.shouldOverride(current: "Haswell", recommended: "SkylakeX", userChoice: nil))
        #expect(BLASCore.shouldOverride(current: "Sandybridge", recommended: "Haswell", userChoice: nil))
    }
}
