// Cᵀ += s·Bᵀ·A for a narrow B: the feedback plasticity of a run, Σ_k −w_k u(k) v^A_i(k)ᵀ,
// added step by step into an n_L × n_i accumulator (A = v^A_i, 64 × n_i; B = u, 64 × n_L).
//
// BLAS does this badly: with n_L = 10 columns each element of A is used only n_L times, so
// its packing copy of A costs about as much as its kernel, and one call per step needs
// K = 64 rows. Here a block of columns of A and all (up to 12) columns of B stay in
// registers: per row of A one vector load, one broadcast per column of B, one FMA each.
// Element (c, j) of C is one fused multiply-add chain over the rows in order, continuing
// from the value C holds: every level and block width gives the same bits (contraction
// is off for this file).
#include "kernels.h"
#include <stdint.h>

#pragma clang fp contract(off)

typedef double v4d __attribute__((ext_vector_type(4)));
typedef double v8d __attribute__((ext_vector_type(8)));

#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define MC 12

// Columns j0 … j0+W−1 of C, rows c0 … c0+mc−1 of C (columns of B). `mc` is a constant at
// every call site, so the accumulators stay in registers.
#define DEFINE_BLOCK(NAME, VEC, W)                                                                  \
    static inline __attribute__((always_inline)) void NAME(int mc, size_t rows, const double *a,    \
                                                           size_t lda, const double *bs,            \
                                                           double *ct, size_t ldct) {               \
        VEC acc[MC];                                                                                \
        for (int c = 0; c < mc; c++) memcpy(&acc[c], ct + c * ldct, sizeof acc[c]);                 \
        for (size_t s = 0; s < rows; s++) {                                                         \
            VEC as;                                                                                 \
            memcpy(&as, a + s * lda, sizeof as);                                                    \
            for (int c = 0; c < mc; c++) {                                                          \
                VEC bv = bs[s * MC + c];                                                            \
                acc[c] = FMA(bv, as, acc[c]);                                                       \
            }                                                                                       \
        }                                                                                           \
        for (int c = 0; c < mc; c++) memcpy(ct + c * ldct, &acc[c], sizeof acc[c]);                 \
    }

DEFINE_BLOCK(block4, v4d, 4)
DEFINE_BLOCK(block8, v8d, 8)

// The last n mod W columns, one chain at a time.
static inline __attribute__((always_inline)) void column(size_t rows, int mc, const double *a, size_t lda,
                                                         const double *bs, double *ct, size_t ldct) {
    for (int c = 0; c < mc; c++) {
        double acc = ct[c * ldct];
        for (size_t s = 0; s < rows; s++) acc = __builtin_fma(bs[s * MC + c], a[s * lda], acc);
        ct[c * ldct] = acc;
    }
}

#define DISPATCH(BLOCK, mc, ...)                      \
    switch (mc) {                                     \
    case 12: BLOCK(12, __VA_ARGS__); break;           \
    case 11: BLOCK(11, __VA_ARGS__); break;           \
    case 10: BLOCK(10, __VA_ARGS__); break;           \
    case 9: BLOCK(9, __VA_ARGS__); break;             \
    case 8: BLOCK(8, __VA_ARGS__); break;             \
    case 7: BLOCK(7, __VA_ARGS__); break;             \
    case 6: BLOCK(6, __VA_ARGS__); break;             \
    case 5: BLOCK(5, __VA_ARGS__); break;             \
    case 4: BLOCK(4, __VA_ARGS__); break;             \
    case 3: BLOCK(3, __VA_ARGS__); break;             \
    case 2: BLOCK(2, __VA_ARGS__); break;             \
    case 1: BLOCK(1, __VA_ARGS__); break;             \
    default: break;                                   \
    }

// Rows in slices of RS: s·B for the slice is formed once (the same products at every
// level), and the chains continue from C across slices, so slicing changes no bit.
#define RS 64
#define DEFINE_BODY(NAME, BLOCK, W)                                                                     \
    static inline __attribute__((always_inline)) void NAME(size_t rows, size_t n, size_t m,             \
                                                           const double *a, size_t lda,                 \
                                                           const double *b, size_t ldb, double scale,   \
                                                           double *ct, size_t ldct) {                   \
        double bs[RS * MC];                                                                             \
        for (size_t c0 = 0; c0 < m; c0 += MC) {                                                         \
            int mc = (int)(m - c0 < MC ? m - c0 : MC);                                                  \
            for (size_t s0 = 0; s0 < rows; s0 += RS) {                                                  \
                size_t rs = rows - s0 < RS ? rows - s0 : RS;                                            \
                for (size_t s = 0; s < rs; s++)                                                         \
                    for (int c = 0; c < mc; c++) bs[s * MC + c] = scale * b[(s0 + s) * ldb + c0 + c];   \
                const double *as = a + s0 * lda;                                                        \
                double *cc = ct + c0 * ldct;                                                            \
                size_t j = 0;                                                                           \
                for (; j + W <= n; j += W) {                                                            \
                    DISPATCH(BLOCK, mc, rs, as + j, lda, bs, cc + j, ldct)                              \
                }                                                                                       \
                for (; j < n; j++) column(rs, mc, as + j, lda, bs, cc + j, ldct);                       \
            }                                                                                           \
        }                                                                                               \
    }

DEFINE_BODY(body4, block4, 4)
DEFINE_BODY(body8, block8, 8)

static void dfc_add_tn_baseline(size_t rows, size_t n, size_t m, const double *a, size_t lda,
                                const double *b, size_t ldb, double scale, double *ct, size_t ldct) {
    body4(rows, n, m, a, lda, b, ldb, scale, ct, ldct);
}

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
static void dfc_add_tn_v3(size_t rows, size_t n, size_t m, const double *a, size_t lda,
                          const double *b, size_t ldb, double scale, double *ct, size_t ldct) {
    body4(rows, n, m, a, lda, b, ldb, scale, ct, ldct);
}

__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
static void dfc_add_tn_v4(size_t rows, size_t n, size_t m, const double *a, size_t lda,
                          const double *b, size_t ldb, double scale, double *ct, size_t ldct) {
    body8(rows, n, m, a, lda, b, ldb, scale, ct, ldct);
}
#endif

void dfc_add_tn_at_level(int level, size_t rows, size_t n, size_t m, const double *a, size_t lda,
                         const double *b, size_t ldb, double scale, double *ct, size_t ldct) {
#if defined(__x86_64__)
    if (level >= 4) { dfc_add_tn_v4(rows, n, m, a, lda, b, ldb, scale, ct, ldct); return; }
    if (level == 3) { dfc_add_tn_v3(rows, n, m, a, lda, b, ldb, scale, ct, ldct); return; }
#endif
    dfc_add_tn_baseline(rows, n, m, a, lda, b, ldb, scale, ct, ldct);
}
