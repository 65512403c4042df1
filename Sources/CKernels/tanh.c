// tanh over a buffer, in blocks of 8-lane vectors, compiled once per x86-64 feature level.
//
// The math is VectorMath.tanh's (LinearAlgebra), operation for operation:
//   |x| > 0.175:  tanh|x| = −m / (2 + m),  m = expm1(−2|x|) = 2^k·exp(r) − 1,
//                 k = round(−2|x| / ln 2), r by Cody–Waite, exp(r) by Taylor to degree 13;
//   |x| ≤ 0.175:  x·(1 + x²·P(x²)), Taylor to degree 17.
// IEEE add, multiply, divide and fused multiply-add give the same bits at any vector
// width, so the levels agree with each other and with the Swift version as long as
// nothing is contracted or reassociated: contraction is off for this file.
#include "kernels.h"
#include <stdint.h>

#pragma clang fp contract(off)

typedef double v8d __attribute__((ext_vector_type(8)));
typedef int64_t v8l __attribute__((ext_vector_type(8)));
typedef uint64_t v8u __attribute__((ext_vector_type(8)));

#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

// One block: n independent 8-lane vectors (n ≤ BLOCK_MAX, a constant at every call site so
// the loops unroll), every step of the math applied to all n before the next step. A single
// vector is one dependent chain of ≈ 14 FMAs and a division (≈ 90 cycles), too long for the
// out-of-order window to overlap with the next one (measured 11 cycles per element on a
// Zen 3 EPYC with AVX2); two chains side by side fill the pipes. Per element the operations
// and their order are unchanged.
// Vectors live in arrays, never in by-value arguments: a by-value 512-bit vector changes
// the calling convention of the clones built without AVX-512, which clang refuses.
#define BLOCK_MAX 2
static inline __attribute__((always_inline)) void tanh_block(int n, const double *src, double *dst) {
    const v8d zero = 0.0, two = 2.0;
    v8d x[BLOCK_MAX], magnitude[BLOCK_MAX], r[BLOCK_MAX], p[BLOCK_MAX], shifted[BLOCK_MAX], t[BLOCK_MAX];
    v8l is_nan[BLOCK_MAX], negative[BLOCK_MAX], small[BLOCK_MAX];
    for (int j = 0; j < n; j++) {
        memcpy(&x[j], src + 8 * j, sizeof(v8d));
        is_nan[j] = x[j] != x[j];
        negative[j] = x[j] < zero;
        v8d abs_x = (v8d)((negative[j] & (v8l)(-x[j])) | (~negative[j] & (v8l)x[j]));
        magnitude[j] = (v8d)(~is_nan[j] & (v8l)abs_x);
    }
    // expm1(−y), y = 2|x| (see VectorMath.expm1Negative): Cody–Waite, Taylor to degree 13.
    for (int j = 0; j < n; j++) {
        v8d y = two * magnitude[j];
        v8d xm = -y;
        v8l in_range = xm >= (v8d)(-50.0);
        v8d clamped = (v8d)((in_range & (v8l)xm) | (~in_range & (v8l)(v8d)(-50.0)));
        shifted[j] = clamped * (v8d)(1.0 / 0.693147180559945309417) + (v8d)(0x1.8p52);
        v8d k = shifted[j] - (v8d)(0x1.8p52);
        r[j] = clamped - k * (v8d)(6.93147180369123816490e-01) - k * (v8d)(1.90821492927058770002e-10);
        p[j] = (v8d)(1.6059043836821613e-10);
    }
    static const double coefficients[13] = {2.08767569878681e-09, 2.505210838544172e-08,
        2.755731922398589e-07, 2.7557319223985893e-06, 2.48015873015873e-05, 0.0001984126984126984,
        0.001388888888888889, 0.008333333333333333, 0.041666666666666664, 0.16666666666666666, 0.5,
        1.0, 1.0};
    for (int c = 0; c < 13; c++)
        for (int j = 0; j < n; j++) p[j] = FMA(p[j], r[j], (v8d)(coefficients[c]));
    for (int j = 0; j < n; j++) {
        // 2^k from the low bits of shifted = k + 1.5·2⁵².
        v8u bits = (v8u)shifted[j];
        v8u e = ((bits - (v8u)0x4338000000000000ULL) + (v8u)1023ULL) << 52;
        v8d m = p[j] * (v8d)e - (v8d)(1.0);
        v8d tj = -m / (two + m);
        t[j] = (v8d)((negative[j] & (v8l)(-tj)) | (~negative[j] & (v8l)tj));
        small[j] = magnitude[j] <= (v8d)(0.175);
    }
    int any_small = 0;
    for (int j = 0; j < n; j++) any_small |= __builtin_reduce_or(small[j]) != 0;
    if (any_small) {
        // |x| ≤ 0.175: x·(1 + x²·P(x²)), Taylor to degree 17 (VectorMath.tanhSmall).
        static const double series[7] = {-0.0014558343870513183, 0.003592128036572481,
            -0.008863235529902197, 0.021869488536155203, -0.05396825396825397, 0.13333333333333333,
            -0.3333333333333333};
        v8d x2[BLOCK_MAX], q[BLOCK_MAX];
        for (int j = 0; j < n; j++) { x2[j] = x[j] * x[j]; q[j] = (v8d)(0.000590027440945586); }
        for (int c = 0; c < 7; c++)
            for (int j = 0; j < n; j++) q[j] = FMA(q[j], x2[j], (v8d)(series[c]));
        for (int j = 0; j < n; j++) {
            v8d sj = FMA(x[j] * x2[j], q[j], x[j]);
            t[j] = (v8d)((small[j] & (v8l)sj) | (~small[j] & (v8l)t[j]));
        }
    }
    for (int j = 0; j < n; j++) {
        // NaN and ±0 pass through (the series gives +0 for −0; tanh is odd).
        v8l keep = is_nan[j] | (x[j] == zero);
        v8d out = (v8d)((keep & (v8l)x[j]) | (~keep & (v8l)t[j]));
        memcpy(dst + 8 * j, &out, sizeof(v8d));
    }
}

// Whole blocks in place, the rest through a zero-padded block (zeros are harmless inputs).
static inline __attribute__((always_inline)) void tanh_buffer(int vectors, const double *src, double *dst, size_t n) {
    size_t elements = 8 * (size_t)vectors, k = 0;
    for (; k + elements <= n; k += elements) tanh_block(vectors, src + k, dst + k);
    if (k < n) {
        double in[8 * BLOCK_MAX] = {0}, out[8 * BLOCK_MAX];
        memcpy(in, src + k, (n - k) * sizeof(double));
        tanh_block(vectors, in, out);
        memcpy(dst + k, out, (n - k) * sizeof(double));
    }
}

// One body per feature level, not per CPU model: target_clones("arch=haswell") would
// be picked only on a CPU that *is* a Haswell (a Xeon with AVX-512 fell through to the
// baseline, whose fma is a libm call per lane, 30× slower). x86-64-v4 = AVX-512
// F/BW/CD/DQ/VL, x86-64-v3 = AVX2 + FMA. The dispatch is explicit (not an ifunc) so that
// the tests can run each level this CPU supports against the Swift reference.
void dfc_tanh_baseline(const double *src, double *dst, size_t n) { tanh_buffer(1, src, dst, n); }

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
void dfc_tanh_v3(const double *src, double *dst, size_t n) { tanh_buffer(2, src, dst, n); }

__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
void dfc_tanh_v4(const double *src, double *dst, size_t n) { tanh_buffer(2, src, dst, n); }
#endif

int dfc_tanh_level(void) {
#if defined(__x86_64__)
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        // Threads that race here compute the same value.
        __builtin_cpu_init();
        level = __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 0;
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
#else
    return 0;
#endif
}

void dfc_tanh_at_level(int level, const double *src, double *dst, size_t n) {
#if defined(__x86_64__)
    if (level >= 4) { dfc_tanh_v4(src, dst, n); return; }
    if (level == 3) { dfc_tanh_v3(src, dst, n); return; }
#endif
    dfc_tanh_baseline(src, dst, n);
}

void dfc_tanh(const double *src, double *dst, size_t n) { dfc_tanh_at_level(dfc_tanh_level(), src, dst, n); }
