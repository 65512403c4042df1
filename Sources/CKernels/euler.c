// The leaky integrator's Euler step over a buffer, x += gain·((a + b) − x), counting as it
// goes what the next divergence test would otherwise read again. Compiled once per feature
// level like tanh.c; per element the operations of the scalar step, in its order, with
// contraction off, so every level gives the same bits as Swift's scalar loop.
#include "kernels.h"

#pragma clang fp contract(off)

typedef double v8d __attribute__((ext_vector_type(8)));
typedef int64_t v8l __attribute__((ext_vector_type(8)));

// b may be NULL (x += gain·(a − x)). count_result: count the new x; count_b: count b.
static inline __attribute__((always_inline)) size_t euler_step(double *x, const double *a, const double *b, size_t n,
                                                               double gain, int count_result, int count_b, double bound) {
    v8l outside = 0;
    size_t k = 0, tail = 0;
    for (; k + 8 <= n; k += 8) {
        v8d xv, av, bv = 0;
        memcpy(&xv, x + k, sizeof xv);
        memcpy(&av, a + k, sizeof av);
        if (b) memcpy(&bv, b + k, sizeof bv);
        v8d next = b ? xv + gain * ((av + bv) - xv) : xv + gain * (av - xv);
        memcpy(x + k, &next, sizeof next);
        // The comparison is −1 where |·| ≤ bound and 0 where not (NaN compares false).
        if (count_result) outside += (__builtin_elementwise_abs(next) <= (v8d)bound) + (v8l)1;
        if (count_b) outside += (__builtin_elementwise_abs(bv) <= (v8d)bound) + (v8l)1;
    }
    for (; k < n; k++) {
        double next = b ? x[k] + gain * ((a[k] + b[k]) - x[k]) : x[k] + gain * (a[k] - x[k]);
        x[k] = next;
        if (count_result && !(__builtin_fabs(next) <= bound)) tail++;
        if (count_b && !(__builtin_fabs(b[k]) <= bound)) tail++;
    }
    return (size_t)__builtin_reduce_add(outside) + tail;
}

// The three combinations the dynamics use, each with its flags constant.
static inline __attribute__((always_inline)) size_t euler_dispatch(double *x, const double *a, const double *b, size_t n,
                                                                   double gain, int census, double bound) {
    int count_result = census & 1, count_b = (census & 2) && b;
    if (!b) return count_result ? euler_step(x, a, NULL, n, gain, 1, 0, bound) : euler_step(x, a, NULL, n, gain, 0, 0, bound);
    if (count_result && count_b) return euler_step(x, a, b, n, gain, 1, 1, bound);
    if (count_result) return euler_step(x, a, b, n, gain, 1, 0, bound);
    if (count_b) return euler_step(x, a, b, n, gain, 0, 1, bound);
    return euler_step(x, a, b, n, gain, 0, 0, bound);
}

static size_t dfc_euler_baseline(double *x, const double *a, const double *b, size_t n, double gain, int census, double bound) {
    return euler_dispatch(x, a, b, n, gain, census, bound);
}

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
static size_t dfc_euler_v3(double *x, const double *a, const double *b, size_t n, double gain, int census, double bound) {
    return euler_dispatch(x, a, b, n, gain, census, bound);
}

__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
static size_t dfc_euler_v4(double *x, const double *a, const double *b, size_t n, double gain, int census, double bound) {
    return euler_dispatch(x, a, b, n, gain, census, bound);
}
#endif

size_t dfc_euler_at_level(int level, double *x, const double *a, const double *b, size_t n, double gain, int census,
                          double bound) {
#if defined(__x86_64__)
    if (level >= 4) return dfc_euler_v4(x, a, b, n, gain, census, bound);
    if (level == 3) return dfc_euler_v3(x, a, b, n, gain, census, bound);
#endif
    return dfc_euler_baseline(x, a, b, n, gain, census, bound);
}
