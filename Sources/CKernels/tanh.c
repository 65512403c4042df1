// tanh over a buffer, eight lanes at a time, compiled once per x86-64 feature level.
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

// One block: N independent vectors of VEC (LANES doubles each), every step of the math
// applied to all N before the next step. A single vector is one dependent chain of ≈ 14
// FMAs and a division (≈ 90 cycles), too long for the out-of-order window to overlap with
// the next one (measured 11 cycles per element on a Zen 3 EPYC with AVX2); N chains side by
// side fill the pipes. Per element the operations and their order are unchanged.
// The helpers are macros, not functions: a by-value 512-bit vector argument changes the
// calling convention of the clones built without AVX-512, which clang refuses.
#define DEFINE_TANH_BLOCK(NAME, VEC, IVEC, UVEC, N)                                                         \
    static inline __attribute__((always_inline)) void NAME(const double *src, double *dst) {              \
        const VEC zero = 0.0, two = 2.0;                                                                   \
        VEC x[N], magnitude[N], r[N], p[N], shifted[N], t[N];                                              \
        IVEC is_nan[N], negative[N], small[N];                                                             \
        for (int j = 0; j < N; j++) {                                                                      \
            memcpy(&x[j], src + j * sizeof(VEC) / sizeof(double), sizeof(VEC));                           \
            is_nan[j] = x[j] != x[j];                                                                      \
            negative[j] = x[j] < zero;                                                                     \
            VEC abs_x = (VEC)((negative[j] & (IVEC)(-x[j])) | (~negative[j] & (IVEC)x[j]));                \
            magnitude[j] = (VEC)(~is_nan[j] & (IVEC)abs_x);                                                \
        }                                                                                                  \
        /* expm1(−y), y = 2|x| (see VectorMath.expm1Negative): Cody–Waite, Taylor to degree 13. */         \
        for (int j = 0; j < N; j++) {                                                                      \
            VEC y = two * magnitude[j];                                                                    \
            VEC xm = -y;                                                                                   \
            IVEC in_range = xm >= (VEC)(-50.0);                                                            \
            VEC clamped = (VEC)((in_range & (IVEC)xm) | (~in_range & (IVEC)(VEC)(-50.0)));                 \
            shifted[j] = clamped * (VEC)(1.0 / 0.693147180559945309417) + (VEC)(0x1.8p52);                  \
            VEC k = shifted[j] - (VEC)(0x1.8p52);                                                          \
            r[j] = clamped - k * (VEC)(6.93147180369123816490e-01) - k * (VEC)(1.90821492927058770002e-10); \
            p[j] = (VEC)(1.6059043836821613e-10);                                                          \
        }                                                                                                  \
        static const double coefficients[13] = {2.08767569878681e-09, 2.505210838544172e-08,               \
            2.755731922398589e-07, 2.7557319223985893e-06, 2.48015873015873e-05, 0.0001984126984126984,    \
            0.001388888888888889, 0.008333333333333333, 0.041666666666666664, 0.16666666666666666, 0.5,    \
            1.0, 1.0};                                                                                     \
        for (int c = 0; c < 13; c++)                                                                       \
            for (int j = 0; j < N; j++) p[j] = FMA(p[j], r[j], (VEC)(coefficients[c]));                    \
        for (int j = 0; j < N; j++) {                                                                      \
            /* 2^k from the low bits of shifted = k + 1.5·2⁵². */                                          \
            UVEC bits = (UVEC)shifted[j];                                                                  \
            UVEC e = ((bits - (UVEC)0x4338000000000000ULL) + (UVEC)1023ULL) << 52;                         \
            VEC m = p[j] * (VEC)e - (VEC)(1.0);                                                            \
            VEC tj = -m / (two + m);                                                                       \
            t[j] = (VEC)((negative[j] & (IVEC)(-tj)) | (~negative[j] & (IVEC)tj));                         \
            small[j] = magnitude[j] <= (VEC)(0.175);                                                       \
        }                                                                                                  \
        int any_small = 0;                                                                                 \
        for (int j = 0; j < N; j++) any_small |= __builtin_reduce_or(small[j]) != 0;                       \
        if (any_small) {                                                                                   \
            /* |x| ≤ 0.175: x·(1 + x²·P(x²)), Taylor to degree 17 (VectorMath.tanhSmall). */               \
            static const double series[7] = {-0.0014558343870513183, 0.003592128036572481,                 \
                -0.008863235529902197, 0.021869488536155203, -0.05396825396825397, 0.13333333333333333,    \
                -0.3333333333333333};                                                                      \
            VEC x2[N], q[N];                                                                               \
            for (int j = 0; j < N; j++) { x2[j] = x[j] * x[j]; q[j] = (VEC)(0.000590027440945586); }       \
            for (int c = 0; c < 7; c++)                                                                    \
                for (int j = 0; j < N; j++) q[j] = FMA(q[j], x2[j], (VEC)(series[c]));                     \
            for (int j = 0; j < N; j++) {                                                                  \
                VEC sj = FMA(x[j] * x2[j], q[j], x[j]);                                                    \
                t[j] = (VEC)((small[j] & (IVEC)sj) | (~small[j] & (IVEC)t[j]));                            \
            }                                                                                              \
        }                                                                                                  \
        for (int j = 0; j < N; j++) {                                                                      \
            /* NaN passes through. */                                                                      \
            VEC out = (VEC)((is_nan[j] & (IVEC)x[j]) | (~is_nan[j] & (IVEC)t[j]));                         \
            memcpy(dst + j * sizeof(VEC) / sizeof(double), &out, sizeof(VEC));                             \
        }                                                                                                  \
    }

// Whole blocks in place, the rest through a zero-padded block (zeros are harmless inputs).
#define DEFINE_TANH_BUFFER(NAME, BLOCK, ELEMENTS)                                                          \
    static inline __attribute__((always_inline)) void NAME(const double *src, double *dst, size_t n) {    \
        size_t k = 0;                                                                                      \
        for (; k + ELEMENTS <= n; k += ELEMENTS) BLOCK(src + k, dst + k);                                  \
        if (k < n) {                                                                                       \
            double in[ELEMENTS] = {0}, out[ELEMENTS];                                                      \
            memcpy(in, src + k, (n - k) * sizeof(double));                                                 \
            BLOCK(in, out);                                                                                \
            memcpy(dst + k, out, (n - k) * sizeof(double));                                               \
        }                                                                                                  \
    }

DEFINE_TANH_BLOCK(tanh_8x1, v8d, v8l, v8u, 1)
DEFINE_TANH_BLOCK(tanh_8x2, v8d, v8l, v8u, 2)
DEFINE_TANH_BUFFER(tanh_buffer_8x1, tanh_8x1, 8)
DEFINE_TANH_BUFFER(tanh_buffer_8x2, tanh_8x2, 16)

// One body per feature level, not per CPU model: target_clones("arch=haswell") would
// be picked only on a CPU that *is* a Haswell (a Xeon with AVX-512 fell through to the
// baseline, whose fma is a libm call per lane, 30× slower). x86-64-v4 = AVX-512
// F/BW/CD/DQ/VL, x86-64-v3 = AVX2 + FMA. The dispatch is explicit (not an ifunc) so that
// the tests can run each level this CPU supports against the Swift reference.
void dfc_tanh_baseline(const double *src, double *dst, size_t n) { tanh_buffer_8x1(src, dst, n); }

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
void dfc_tanh_v3(const double *src, double *dst, size_t n) { tanh_buffer_8x2(src, dst, n); }

__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
void dfc_tanh_v4(const double *src, double *dst, size_t n) { tanh_buffer_8x2(src, dst, n); }
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
