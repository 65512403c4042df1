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

#define SPLAT(c) ((v8d){c, c, c, c, c, c, c, c})

// Helpers are macros, not functions: a by-value 512-bit vector argument changes the
// calling convention of the clones built without AVX-512, which clang refuses.
#define SELECT(mask, a, b) \
    ((v8d)(((v8l)(mask) & (v8l)(a)) | (~(v8l)(mask) & (v8l)(b))))
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

// expm1(−y) for y ≥ 0.35 (see VectorMath.expm1Negative).
static inline __attribute__((always_inline)) void expm1_negative(const v8d *in, v8d *out) {
    v8d y = *in;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    v8d x = -y;
    v8d clamped = SELECT(~(x >= SPLAT(-50.0)), SPLAT(-50.0), x);
    const v8d shifter = SPLAT(0x1.8p52);
    v8d shifted = clamped * SPLAT(1.0 / 0.693147180559945309417) + shifter;
    v8d k = shifted - shifter;
    v8d r = clamped - k * SPLAT(ln2_hi) - k * SPLAT(ln2_lo);
    v8d p = SPLAT(1.6059043836821613e-10);
    p = FMA(p, r, SPLAT(2.08767569878681e-09));
    p = FMA(p, r, SPLAT(2.505210838544172e-08));
    p = FMA(p, r, SPLAT(2.755731922398589e-07));
    p = FMA(p, r, SPLAT(2.7557319223985893e-06));
    p = FMA(p, r, SPLAT(2.48015873015873e-05));
    p = FMA(p, r, SPLAT(0.0001984126984126984));
    p = FMA(p, r, SPLAT(0.001388888888888889));
    p = FMA(p, r, SPLAT(0.008333333333333333));
    p = FMA(p, r, SPLAT(0.041666666666666664));
    p = FMA(p, r, SPLAT(0.16666666666666666));
    p = FMA(p, r, SPLAT(0.5));
    p = FMA(p, r, SPLAT(1.0));
    p = FMA(p, r, SPLAT(1.0));
    // 2^k from the low bits of shifted = k + 1.5·2⁵².
    v8u bits = (v8u)shifted;
    v8u e = ((bits - (v8u)0x4338000000000000ULL) + (v8u)1023ULL) << 52;
    *out = p * (v8d)e - SPLAT(1.0);
}

static inline __attribute__((always_inline)) void tanh_small(const v8d *in, v8d *out) {
    v8d x = *in;
    v8d x2 = x * x;
    v8d p = SPLAT(0.000590027440945586);
    p = FMA(p, x2, SPLAT(-0.0014558343870513183));
    p = FMA(p, x2, SPLAT(0.003592128036572481));
    p = FMA(p, x2, SPLAT(-0.008863235529902197));
    p = FMA(p, x2, SPLAT(0.021869488536155203));
    p = FMA(p, x2, SPLAT(-0.05396825396825397));
    p = FMA(p, x2, SPLAT(0.13333333333333333));
    p = FMA(p, x2, SPLAT(-0.3333333333333333));
    *out = FMA(x * x2, p, x);
}

static inline __attribute__((always_inline)) void tanh8(const v8d *in, v8d *out) {
    v8d x = *in;
    v8l is_nan = x != x;
    v8l negative = x < SPLAT(0.0);
    v8d magnitude = SELECT(is_nan, SPLAT(0.0), SELECT(negative, -x, x));
    v8d twice = SPLAT(2.0) * magnitude, m;
    expm1_negative(&twice, &m);
    v8d t = -m / (SPLAT(2.0) + m);
    t = SELECT(negative, -t, t);
    v8l small = magnitude <= SPLAT(0.175);
    if (__builtin_reduce_or(small) != 0) {
        v8d series;
        tanh_small(&x, &series);
        t = SELECT(small, series, t);
    }
    *out = SELECT(is_nan, x, t);
}

static inline __attribute__((always_inline)) void tanh_buffer(const double *src, double *dst, size_t n) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        v8d x;
        memcpy(&x, src + k, sizeof x);
        v8d t;
        tanh8(&x, &t);
        memcpy(dst + k, &t, sizeof t);
    }
    if (k < n) {
        v8d x = SPLAT(0.0);
        memcpy(&x, src + k, (n - k) * sizeof(double));
        v8d t;
        tanh8(&x, &t);
        memcpy(dst + k, &t, (n - k) * sizeof(double));
    }
}

// One body per feature level, not per CPU model: target_clones("arch=haswell") would
// be picked only on a CPU that *is* a Haswell (a Xeon with AVX-512 fell through to the
// baseline, whose fma is a libm call per lane, 30× slower). x86-64-v4 = AVX-512
// F/BW/CD/DQ/VL, x86-64-v3 = AVX2 + FMA. The dispatch is explicit (not an ifunc) so that
// the tests can run each level this CPU supports against the Swift reference.
void dfc_tanh_baseline(const double *src, double *dst, size_t n) { tanh_buffer(src, dst, n); }

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
void dfc_tanh_v3(const double *src, double *dst, size_t n) { tanh_buffer(src, dst, n); }

__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
void dfc_tanh_v4(const double *src, double *dst, size_t n) { tanh_buffer(src, dst, n); }
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
