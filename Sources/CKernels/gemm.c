// C = A·Bᵀ (+ a bias row) with B packed once and reused: the per-step products of the
// dynamics (W_i r_{i−1} for 64 samples, Q_i u), where B stays fixed for a whole run.
//
// OpenBLAS repacks both operands on every call; for a 64 × 256 × 256 product the copies
// cost a third of its kernel time, and its wide kernels do not reach their peak at M = 64.
// Here B is packed once into panels of 16 of its rows (16 columns of C; k-major,
// zero-padded), A is read in place, and each output element is one fused multiply-add chain over k = 0, 1, … in
// order, started from zero. Tile shape and vector width change only which elements are
// computed together, never the operations on one element, so every level gives the same
// bits (contraction and reassociation are off for this file).
#include "kernels.h"
#include <stdint.h>

#pragma clang fp contract(off)

typedef double v8d __attribute__((ext_vector_type(8)));

#define PANEL 16
#define SPLAT(c) ((v8d){c, c, c, c, c, c, c, c})
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

size_t dfc_pack_nt_count(size_t n, size_t k) { return (n + PANEL - 1) / PANEL * PANEL * k; }

void dfc_pack_nt(size_t n, size_t k, const double *b, size_t ldb, double *packed) {
    size_t panels = (n + PANEL - 1) / PANEL;
    for (size_t p = 0; p < panels; p++) {
        double *dst = packed + p * PANEL * k;
        for (size_t jj = 0; jj < PANEL; jj++) {
            size_t j = p * PANEL + jj;
            if (j < n) {
                const double *row = b + j * ldb;
                for (size_t kk = 0; kk < k; kk++) dst[kk * PANEL + jj] = row[kk];
            } else {
                for (size_t kk = 0; kk < k; kk++) dst[kk * PANEL + jj] = 0.0;
            }
        }
    }
}

// One tile: rows i … i+mr−1 of C, the 16 columns of one panel (the first `width` kept).
// `from_c` continues every chain from the value in C (a later slice of k).
// `mr` is a constant at every call site, so the loops unroll and the accumulators stay
// in registers.
static inline __attribute__((always_inline)) void tile(int mr, size_t k, const double *a, size_t lda,
                                                      const double *panel, const double *bias,
                                                      double *c, size_t ldc, size_t width, int from_c) {
    v8d acc[8][2];
    for (int r = 0; r < mr; r++) {
        double start[PANEL] = {0};
        if (from_c) memcpy(start, c + r * ldc, width * sizeof(double));
        memcpy(&acc[r][0], start, sizeof acc[r][0]);
        memcpy(&acc[r][1], start + 8, sizeof acc[r][1]);
    }
    for (size_t kk = 0; kk < k; kk++) {
        v8d b0, b1;
        memcpy(&b0, panel + kk * PANEL, sizeof b0);
        memcpy(&b1, panel + kk * PANEL + 8, sizeof b1);
        for (int r = 0; r < mr; r++) {
            v8d ar = SPLAT(a[r * lda + kk]);
            acc[r][0] = FMA(ar, b0, acc[r][0]);
            acc[r][1] = FMA(ar, b1, acc[r][1]);
        }
    }
    if (width == PANEL) {
        v8d bias0 = SPLAT(0.0), bias1 = SPLAT(0.0);
        if (bias) { memcpy(&bias0, bias, sizeof bias0); memcpy(&bias1, bias + 8, sizeof bias1); }
        for (int r = 0; r < mr; r++) {
            // The bias is added after the chain, as a product followed by a row add would.
            v8d o0 = bias ? acc[r][0] + bias0 : acc[r][0];
            v8d o1 = bias ? acc[r][1] + bias1 : acc[r][1];
            memcpy(c + r * ldc, &o0, sizeof o0);
            memcpy(c + r * ldc + 8, &o1, sizeof o1);
        }
    } else {
        for (int r = 0; r < mr; r++) {
            double out[PANEL];
            memcpy(out, &acc[r][0], sizeof acc[r][0]);
            memcpy(out + 8, &acc[r][1], sizeof acc[r][1]);
            for (size_t j = 0; j < width; j++) c[r * ldc + j] = bias ? out[j] + bias[j] : out[j];
        }
    }
}

// Panels outer, row tiles inner: one panel's slice of KC k-values (KC × 16 doubles) stays
// in L1 while the rows of A stream past it. Later slices continue every chain from the
// value the earlier ones stored, so slicing k changes no bit. KC per level, measured
// (64 × 256 × 256, both cores busy, interleaved in one process): AVX2 on a Zen 3 EPYC
// (32 KB L1d) 31–32 GFLOP/s per core with KC = 128 against 28.7–29.4 with 256, where the
// 32 KB slice filled L1 by itself; AVX-512 keeps 256 (Xeon, 48 KB L1d, 2026-12-02).
#define KC_V4 256
#define KC_V3 128
static inline __attribute__((always_inline)) void gemm_body(int mr_max, size_t KC, size_t m, size_t n, size_t k,
                                                           const double *a, size_t lda,
                                                           const double *packed, const double *bias,
                                                           double *c, size_t ldc) {
    size_t panels = (n + PANEL - 1) / PANEL;
    for (size_t p = 0; p < panels; p++) {
        size_t j0 = p * PANEL, width = n - j0 < PANEL ? n - j0 : PANEL;
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            size_t kc = k - k0 < KC ? k - k0 : KC;
            const double *panel = packed + p * PANEL * k + k0 * PANEL;
            const double *ak = a + k0;
            // The first slice starts from zero, the bias goes on after the last.
            const double *bj = (bias && k0 + kc == k) ? bias + j0 : NULL;
            int from_c = k0 > 0;
            size_t i = 0;
            for (; i + (size_t)mr_max <= m; i += mr_max)
                tile(mr_max, kc, ak + i * lda, lda, panel, bj, c + i * ldc + j0, ldc, width, from_c);
            const double *ai = ak + i * lda;
            double *ci = c + i * ldc + j0;
            switch (m - i) {
            case 7: tile(7, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 6: tile(6, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 5: tile(5, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 4: tile(4, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 3: tile(3, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 2: tile(2, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            case 1: tile(1, kc, ai, lda, panel, bj, ci, ldc, width, from_c); break;
            default: break;
            }
        }
    }
}

// Rows per tile, measured (64 × 256 × 256, one core, 2026-12-02, Xeon with AVX-512):
// AVX-512 with 8 rows (16 accumulators of the 32 registers) 57–68 GFLOP/s against 44–56
// for 4, 6 or 12 rows and 31–50 for OpenBLAS's Cooperlake kernels; AVX2 with 2 rows
// (8 of its 16 registers) 34–35 GFLOP/s against 23–30 for 3 rows and 28–33 for OpenBLAS's
// Haswell kernels. On a Zen 3 EPYC (2026-12-02, evening, both cores busy, interleaved) 6 × 8
// tiles on half panels (12 accumulators) gave 29.3–30.3 GFLOP/s against 28.6–29.4 for 2 × 16:
// within the noise, so the AVX2 tile stays.
#define MR_V4 8
#define MR_V3 2
_Static_assert(MR_V4 <= 8 && MR_V3 <= 8, "a tile keeps at most 8 rows of accumulators");

static void dfc_gemm_nt_baseline(size_t m, size_t n, size_t k, const double *a, size_t lda,
                                 const double *packed, const double *bias, double *c, size_t ldc) {
    gemm_body(4, KC_V4, m, n, k, a, lda, packed, bias, c, ldc);
}

#if defined(__x86_64__)
__attribute__((target("arch=x86-64-v3")))
static void dfc_gemm_nt_v3(size_t m, size_t n, size_t k, const double *a, size_t lda,
                           const double *packed, const double *bias, double *c, size_t ldc) {
    gemm_body(MR_V3, KC_V3, m, n, k, a, lda, packed, bias, c, ldc);
}

// min_vector_width: without it clang keeps to 256-bit registers even at x86-64-v4.
__attribute__((target("arch=x86-64-v4"), min_vector_width(512)))
static void dfc_gemm_nt_v4(size_t m, size_t n, size_t k, const double *a, size_t lda,
                           const double *packed, const double *bias, double *c, size_t ldc) {
    gemm_body(MR_V4, KC_V4, m, n, k, a, lda, packed, bias, c, ldc);
}
#endif

void dfc_gemm_nt_at_level(int level, size_t m, size_t n, size_t k, const double *a, size_t lda,
                          const double *packed, const double *bias, double *c, size_t ldc) {
#if defined(__x86_64__)
    if (level >= 4) { dfc_gemm_nt_v4(m, n, k, a, lda, packed, bias, c, ldc); return; }
    if (level == 3) { dfc_gemm_nt_v3(m, n, k, a, lda, packed, bias, c, ldc); return; }
#endif
    dfc_gemm_nt_baseline(m, n, k, a, lda, packed, bias, c, ldc);
}
