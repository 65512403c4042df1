// Kernels that Swift cannot express as fast itself (LinearAlgebra wraps each one).
// - Adam: Swift's square root keeps C's errno path (a libm call per negative lane),
//   which blocks vectorization; clang's element-wise builtin has none. Inline here.
// - tanh (tanh.c), normal draws (normal.c), C = A·Bᵀ with B packed once (gemm.c), Cᵀ += s·Bᵀ·A
//   for a narrow B (outer.c): Swift
//   has no per-CPU code paths, and its targets are built for AVX2 (Haswell). Each file is
//   compiled once per feature level (x86-64-v4 = AVX-512 with 512-bit registers, v3 = AVX2
//   + FMA, baseline), chosen by the CPU on first use, with results identical bit for bit
//   across levels (contraction off; every element gets the same operations in the same order).
#ifndef DFCSPICE_KERNELS_H
#define DFCSPICE_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef double dfc_v4d __attribute__((ext_vector_type(4)));

/// One Adam step on n values: g = -s*d; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
/// p_out = p_in - rate*m/(sqrt(v*k2) + eps). p_out may be p_in; writing a fresh p_out
/// spares the caller a copy when p_in is shared. Returns 1 when every p_out is finite,
/// which costs one subtraction per value here and a pass over the tensor elsewhere.
static inline int dfc_adam_step(double *p_out, const double *p_in, double *m, double *v, const double *d,
                                size_t n, double s, double rate, double k2, double b1, double b2, double eps) {
    size_t k = 0;
    dfc_v4d check = {0, 0, 0, 0};   // p - p: 0 for finite p, NaN for ±Inf and NaN
    for (; k + 4 <= n; k += 4) {
        dfc_v4d pk, mk, vk, dk;
        memcpy(&pk, p_in + k, sizeof pk);
        memcpy(&mk, m + k, sizeof mk);
        memcpy(&vk, v + k, sizeof vk);
        memcpy(&dk, d + k, sizeof dk);
        dfc_v4d g = -s * dk;
        mk = b1 * mk + (1 - b1) * g;
        vk = b2 * vk + (1 - b2) * g * g;
        pk -= rate * mk / (__builtin_elementwise_sqrt(vk * k2) + eps);
        check += pk - pk;
        memcpy(p_out + k, &pk, sizeof pk);
        memcpy(m + k, &mk, sizeof mk);
        memcpy(v + k, &vk, sizeof vk);
    }
    double tail = 0;
    for (; k < n; k++) {
        double g = -s * d[k];
        m[k] = b1 * m[k] + (1 - b1) * g;
        v[k] = b2 * v[k] + (1 - b2) * g * g;
        dfc_v4d x = {v[k] * k2, 0, 0, 0};
        p_out[k] = p_in[k] - rate * m[k] / (__builtin_elementwise_sqrt(x)[0] + eps);
        tail += p_out[k] - p_out[k];
    }
    return check[0] == 0 && check[1] == 0 && check[2] == 0 && check[3] == 0 && tail == 0;
}
/// dst[k] = tanh(src[k]) for k < n, within a few ulp of glibc's tanh; NaN passes through.
/// src and dst may be the same buffer.
void dfc_tanh(const double *src, double *dst, size_t n);
/// The feature level dfc_tanh runs on this CPU: 4 (x86-64-v4), 3 (x86-64-v3) or 0 (baseline).
int dfc_tanh_level(void);
/// dfc_tanh at a given level; a level the CPU lacks faults, so callers pass ≤ dfc_tanh_level().
void dfc_tanh_at_level(int level, const double *src, double *dst, size_t n);
/// Eight-lane standard normal draws. `state` is 32 words: xoshiro256** word j of lane l
/// at state[8j + l]. Fills (add = 0) or adds to (add = 1) out[0..<n] with scale·N(0, 1),
/// value k from lane k mod 8; a last partial block discards its unused draws. x (129
/// entries), ratio (128) and r are the ziggurat of SeededGenerator. Levels as dfc_tanh's.
void dfc_normal_at_level(int level, uint64_t *state, double *out, size_t n, double scale, int add,
                         const double *x, const double *ratio, double r);
/// dfc_normal_at_level's add, fused with the Euler step of a leaky compartment when drive is
/// not NULL: out[k] = (out[k] + gain·(drive[k] − out[k])) + scale·z_k, the same draws as
/// dfc_normal_at_level's. Returns how many results are not within ±bound (NaN counts).
size_t dfc_normal_step_at_level(int level, uint64_t *state, double *out, size_t n, double scale,
                                const double *drive, double gain, double bound,
                                const double *x, const double *ratio, double r);
/// The leaky integrator's Euler step x[k] += gain·((a[k] + b[k]) − x[k]) (b NULL: gain·(a[k] − x[k])).
/// census bit 0 counts the new x[k], bit 1 counts b[k], that are not within ±bound (NaN counts);
/// returns the count. Levels as dfc_tanh's, identical bits.
size_t dfc_euler_at_level(int level, double *x, const double *a, const double *b, size_t n, double gain, int census,
                          double bound);
/// How many doubles dfc_pack_nt writes for an n × k matrix B (n rounded up to 16).
size_t dfc_pack_nt_count(size_t n, size_t k);
/// Packs B (n × k, row stride ldb) for dfc_gemm_nt: panels of 16 rows of B, k-major, zero-padded.
void dfc_pack_nt(size_t n, size_t k, const double *b, size_t ldb, double *packed);
/// C = A·Bᵀ (+ bias[j] on column j when bias is not NULL); A is m × k (row stride lda), C is
/// m × n (row stride ldc), B packed by dfc_pack_nt. Element (i, j) is the fused
/// multiply-add chain over k in order from zero, then the bias: identical bits at every
/// level. Levels as dfc_tanh's (the baseline's fma is a libm call: correct, slow).
void dfc_gemm_nt_at_level(int level, size_t m, size_t n, size_t k, const double *a, size_t lda,
                          const double *packed, const double *bias, double *c, size_t ldc);
/// Cᵀ += scale·Bᵀ·A for a narrow B: ct is m × n (row stride ldct), A is rows × n (lda),
/// B is rows × m (ldb). Element (c, j) is the fused multiply-add chain of (scale·B[s, c])·A[s, j]
/// over s in order, continuing from ct[c, j]: identical bits at every level (outer.c). Levels as
/// dfc_tanh's (the baseline's fma is a libm call: correct, slow).
void dfc_add_tn_at_level(int level, size_t rows, size_t n, size_t m, const double *a, size_t lda,
                         const double *b, size_t ldb, double scale, double *ct, size_t ldct);
#endif
