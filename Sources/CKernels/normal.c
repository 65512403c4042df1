// Standard normal draws eight at a time: eight independent xoshiro256** streams, one per
// lane, each feeding the same 128-layer ziggurat as SeededGenerator.nextNormal.
//
// The scalar ziggurat is one 64-bit draw, a table lookup and a compare per value, but the
// xoshiro step is a serial dependency chain; eight streams side by side turn it into
// vector shifts and xors, and the rectangle test into a vector compare. The rare draw that
// misses its rectangle (≈ 1 %) falls back to the scalar wedge/tail code on its own lane's
// state, so every lane stays an exact xoshiro256** → ziggurat stream. Only integer ops and
// exact double arithmetic are in the vector part and the slow path calls glibc's exp/log
// as the Swift code does, so every feature level gives the same values bit for bit.
#include "kernels.h"
#include <math.h>
#include <stdint.h>

// z·scale + out must not become one FMA on the levels that have it.
#pragma clang fp contract(off)

typedef uint64_t v8u __attribute__((ext_vector_type(8)));
typedef double v8d __attribute__((ext_vector_type(8)));
typedef int64_t v8l __attribute__((ext_vector_type(8)));

static inline __attribute__((always_inline)) uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline __attribute__((always_inline)) uint64_t next_scalar(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/// Uniform in (0, 1) from 53 bits, never 0 (as SeededGenerator.nextOpenUnit).
static inline double open_unit(uint64_t s[4]) { return ((double)(next_scalar(s) >> 11) + 0.5) * 0x1.0p-53; }

/// u ∈ [−1, 1) from the 52 bits above the layer index: 2·[1, 2) − 3, exact in double.
static inline __attribute__((always_inline)) double unit_from_bits(uint64_t bits) {
    uint64_t m = (bits >> 12) | 0x3FF0000000000000ull;
    double d;
    memcpy(&d, &m, sizeof d);
    return 2 * d - 3;
}

/// The draw whose (u, layer i) missed layer i's rectangle: the base layer's tail beyond
/// R (Marsaglia 1964) or the wedge test; a rejected draw starts over on the same lane.
static double outside_rectangle(uint64_t s[4], double u, int i, const double *x, const double *ratio, double r) {
    for (;;) {
        if (i == 0) {
            for (;;) {
                double a = log(open_unit(s)) / r, b = log(open_unit(s));
                if (-2 * b >= a * a) return u < 0 ? a - r : r - a;
            }
        }
        double xi = u * x[i];
        double f0 = exp(-0.5 * (x[i] * x[i] - xi * xi)), f1 = exp(-0.5 * (x[i + 1] * x[i + 1] - xi * xi));
        if (f1 + open_unit(s) * (f0 - f1) < 1) return xi;
        uint64_t bits = next_scalar(s);
        i = (int)(bits & 0x7F);
        u = unit_from_bits(bits);
        if (fabs(u) < ratio[i]) return u * x[i];
    }
}

// mode: FILL out = scale·z; ADD out += scale·z; STEP out = (out + gain·(drive − out)) + scale·z, the
// leaky compartment's Euler step fused with its noise (one pass over out instead of two). With
// count, returns how many results are not within ±bound (NaN counts), counted while they are
// still in registers: the divergence test of the next state then need not read out again.
enum { FILL = 0, ADD = 1, STEP = 2 };
static inline __attribute__((always_inline)) size_t fill_lanes(uint64_t *state, double *out, size_t n, double scale, int mode,
                                                               const double *drive, double gain, int count, double bound,
                                                               const double *x, const double *ratio, double r) {
    v8l outside = 0;
    size_t outside_tail = 0;
    v8u s0, s1, s2, s3;
    memcpy(&s0, state, sizeof s0);
    memcpy(&s1, state + 8, sizeof s1);
    memcpy(&s2, state + 16, sizeof s2);
    memcpy(&s3, state + 24, sizeof s3);
    for (size_t k = 0; k < n; k += 8) {
        v8u a = s1 * 5;
        v8u bits = ((a << 7) | (a >> 57)) * 9;
        v8u t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 45) | (s3 >> 19);
        v8u m = (bits >> 12) | 0x3FF0000000000000ull;
        v8d u;
        memcpy(&u, &m, sizeof u);
        u = 2 * u - 3;
        v8d xi, ri;
        for (int l = 0; l < 8; l++) { xi[l] = x[bits[l] & 0x7F]; ri[l] = ratio[bits[l] & 0x7F]; }
        v8d au = __builtin_elementwise_abs(u);
        v8l inside = au < ri;
        v8d z = u * xi;
        if (__builtin_reduce_and(inside) == 0) {
            // Some lane missed: run its slow path on that lane's own stream.
            uint64_t lanes[4][8];
            memcpy(lanes[0], &s0, sizeof s0); memcpy(lanes[1], &s1, sizeof s1);
            memcpy(lanes[2], &s2, sizeof s2); memcpy(lanes[3], &s3, sizeof s3);
            for (int l = 0; l < 8; l++) {
                if (inside[l]) continue;
                uint64_t s[4] = {lanes[0][l], lanes[1][l], lanes[2][l], lanes[3][l]};
                z[l] = outside_rectangle(s, u[l], (int)(bits[l] & 0x7F), x, ratio, r);
                lanes[0][l] = s[0]; lanes[1][l] = s[1]; lanes[2][l] = s[2]; lanes[3][l] = s[3];
            }
            memcpy(&s0, lanes[0], sizeof s0); memcpy(&s1, lanes[1], sizeof s1);
            memcpy(&s2, lanes[2], sizeof s2); memcpy(&s3, lanes[3], sizeof s3);
        }
        z *= scale;
        size_t left = n - k;
        if (left >= 8) {
            if (mode != FILL) {
                v8d o;
                memcpy(&o, out + k, sizeof o);
                if (mode == STEP) {
                    v8d a;
                    memcpy(&a, drive + k, sizeof a);
                    o = o + gain * (a - o);
                }
                z += o;
            }
            memcpy(out + k, &z, sizeof z);
            // −1 where |z| ≤ bound, 0 where not (NaN compares false).
            if (count) outside += (__builtin_elementwise_abs(z) <= (v8d)bound) + (v8l)1;
        } else {
            // The last partial block: its unused draws are discarded, so the stream is a
            // function of n alone.
            for (size_t l = 0; l < left; l++) {
                double o = out[k + l];
                if (mode == STEP) o = o + gain * (drive[k + l] - o);
                double value = mode == FILL ? z[l] : o + z[l];
                out[k + l] = value;
                if (count && !(fabs(value) <= bound)) outside_tail++;
            }
        }
    }
    memcpy(state, &s0, sizeof s0);
    memcpy(state + 8, &s1, sizeof s1);
    memcpy(state + 16, &s2, sizeof s2);
    memcpy(state + 24, &s3, sizeof s3);
    return count ? (size_t)__builtin_reduce_add(outside) + outside_tail : 0;
}

// The fill and the fused step as two bodies per level, so that each inlines with its mode
// and count constant.
#define NORMAL_BODIES(suffix, attributes)                                                                  \
    attributes static void dfc_normal_##suffix(uint64_t *state, double *out, size_t n, double scale, int add, \
                                             const double *x, const double *ratio, double r) {            \
        if (add) fill_lanes(state, out, n, scale, ADD, NULL, 0, 0, 0, x, ratio, r);                       \
        else fill_lanes(state, out, n, scale, FILL, NULL, 0, 0, 0, x, ratio, r);                          \
    }                                                                                                     \
    attributes static size_t dfc_normal_step_##suffix(uint64_t *state, double *out, size_t n, double scale, \
                                                    const double *drive, double gain, double bound,       \
                                                    const double *x, const double *ratio, double r) {     \
        if (drive) return fill_lanes(state, out, n, scale, STEP, drive, gain, 1, bound, x, ratio, r);     \
        return fill_lanes(state, out, n, scale, ADD, NULL, 0, 1, bound, x, ratio, r);                     \
    }

NORMAL_BODIES(baseline, )
#if defined(__x86_64__)
NORMAL_BODIES(v3, __attribute__((target("arch=x86-64-v3"))))
NORMAL_BODIES(v4, __attribute__((target("arch=x86-64-v4"), min_vector_width(512))))
#endif

void dfc_normal_at_level(int level, uint64_t *state, double *out, size_t n, double scale, int add,
                         const double *x, const double *ratio, double r) {
#if defined(__x86_64__)
    if (level >= 4) { dfc_normal_v4(state, out, n, scale, add, x, ratio, r); return; }
    if (level == 3) { dfc_normal_v3(state, out, n, scale, add, x, ratio, r); return; }
#endif
    dfc_normal_baseline(state, out, n, scale, add, x, ratio, r);
}

size_t dfc_normal_step_at_level(int level, uint64_t *state, double *out, size_t n, double scale,
                                const double *drive, double gain, double bound,
                                const double *x, const double *ratio, double r) {
#if defined(__x86_64__)
    if (level >= 4) return dfc_normal_step_v4(state, out, n, scale, drive, gain, bound, x, ratio, r);
    if (level == 3) return dfc_normal_step_v3(state, out, n, scale, drive, gain, bound, x, ratio, r);
#endif
    return dfc_normal_step_baseline(state, out, n, scale, drive, gain, bound, x, ratio, r);
}
