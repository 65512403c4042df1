"""NumPy cross-check of `dfcspice solve --variant dfc-ssa` (and of the .npz format).

Builds a random model and batch with NumPy, runs dfcspice, and recomputes
Lemma 1 independently: J by the chain rule, u = (J Q + α̃ I)⁻¹ δ_L, the
nonlinear propagation v_i = W_i φ(v_{i−1}) + b_i + Q_i u, and the update
Σ (φ(v_i) − φ(W_i r_{i−1} + b_i)) r_{i−1}ᵀ. Exits non-zero on any mismatch.

usage: python3 ssa.py path/to/dfcspice workdir
"""
import json
import os
import subprocess
import sys

import numpy as np


def main(binary, work):
    rng = np.random.default_rng(1234)
    sizes = [7, 6, 5, 3]
    acts = ["tanh", "sigmoid", "linear"]
    phi = {"tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "linear": lambda v: v}
    dphi = {"tanh": lambda v: 1 - np.tanh(v) ** 2,
            "sigmoid": lambda v: phi["sigmoid"](v) * (1 - phi["sigmoid"](v)),
            "linear": lambda v: np.ones_like(v)}
    L = len(sizes) - 1
    W = [rng.normal(0, 0.6, (sizes[i + 1], sizes[i])) for i in range(L)]
    b = [rng.normal(0, 0.1, sizes[i + 1]) for i in range(L)]
    # Q = Jᵀ-like products keep J Q well conditioned.
    Q = [None] * L
    Q[L - 1] = np.eye(sizes[L])
    for i in range(L - 2, -1, -1):
        Q[i] = W[i + 1].T @ Q[i + 1]
    arrays = {f"W{i+1}": W[i] for i in range(L)}
    arrays.update({f"b{i+1}": b[i] for i in range(L)})
    arrays.update({f"Q{i+1}": Q[i] for i in range(L)})
    np.savez(os.path.join(work, "model.npz"), **arrays)
    B = 9
    X = rng.normal(0, 1, (B, sizes[0]))
    Y = rng.normal(0, 1, (B, sizes[L]))
    np.save(os.path.join(work, "x.npy"), X)
    np.save(os.path.join(work, "y.npy"), Y)
    kp, alpha, lam = 1.5, 0.05, 0.1
    for leak, reduction in [("integral", "sum"), ("total", "mean")]:
        config = {"network": {"sizes": sizes, "activations": acts, "loss": "mse"},
                  "dfc": {"kp": kp, "alpha": alpha, "lambda": lam},
                  "conventions": {"leak": leak, "lossReduction": reduction}}
        with open(os.path.join(work, "c.json"), "w") as f:
            json.dump(config, f)
        out = os.path.join(work, "r.npz")
        subprocess.run([binary, "solve", "--config", os.path.join(work, "c.json"), "--model", os.path.join(work, "model.npz"),
                        "--input", os.path.join(work, "x.npy"), "--labels", os.path.join(work, "y.npy"),
                        "--variant", "dfc-ssa", "--out", out], check=True, capture_output=True)
        R = np.load(out)

        # Feedforward pass and target (Eq. 2, 3).
        v_ff, r = [], [X]
        for i in range(L):
            v = r[-1] @ W[i].T + b[i]
            v_ff.append(v)
            r.append(phi[acts[i]](v))
        grad = 2 * (r[L] - Y)
        if reduction == "mean":
            grad /= Y.size
        delta = -lam * grad
        alpha_t = alpha / (1 + alpha * kp) if leak == "integral" else alpha
        u = np.zeros((B, sizes[L]))
        for s in range(B):
            J = [None] * L
            J[L - 1] = np.diag(dphi[acts[L - 1]](v_ff[L - 1][s]))
            for i in range(L - 2, -1, -1):
                J[i] = J[i + 1] @ W[i + 1] @ np.diag(dphi[acts[i]](v_ff[i][s]))
            JQ = sum(J[i] @ Q[i] for i in range(L))
            u[s] = np.linalg.solve(JQ + alpha_t * np.eye(sizes[L]), delta[s])
        rp = X
        dW, db, vs = [], [], []
        for i in range(L):
            basal = rp @ W[i].T + b[i]
            v = basal + u @ Q[i].T
            d = phi[acts[i]](v) - phi[acts[i]](basal)
            dW.append(d.T @ rp)
            db.append(d.sum(axis=0))
            vs.append(v)
            rp = phi[acts[i]](v)

        def check(name, a, e):
            err = np.max(np.abs(a - e)) / max(np.max(np.abs(e)), 1e-300)
            if not err < 1e-10:
                sys.exit(f"{leak}/{reduction}: {name} differs from NumPy, relative error {err:.3e}")
        check("u", R["u"], u)
        check("delta", R["delta"], delta)
        for i in range(L):
            check(f"vff{i+1}", R[f"vff{i+1}"], v_ff[i])
            check(f"v{i+1}", R[f"v{i+1}"], vs[i])
            check(f"dW{i+1}", R[f"dW{i+1}"], dW[i])
            check(f"db{i+1}", R[f"db{i+1}"], db[i])
        assert R["dW1"].dtype == np.float64 and R["dW1"].shape == (sizes[1], sizes[0])
        # Counts, codes and seeds are integers, as NumPy users expect them.
        assert R["status"].dtype == np.int64 and R["seed"].dtype == np.int64, (R["status"].dtype, R["seed"].dtype)
    # And the other direction: a model written by dfcspice init loads in NumPy.
    with open(os.path.join(work, "c.json"), "w") as f:
        json.dump({"network": {"sizes": sizes, "activations": acts}}, f)
    subprocess.run([binary, "init", "--config", os.path.join(work, "c.json"), "--out", os.path.join(work, "m2.npz"), "--seed", "3"],
                   check=True, capture_output=True)
    M = np.load(os.path.join(work, "m2.npz"))
    for i in range(L):
        assert M[f"W{i+1}"].shape == (sizes[i + 1], sizes[i]) and M[f"b{i+1}"].shape == (sizes[i + 1],)
        assert M[f"Q{i+1}"].shape == (sizes[i + 1], sizes[L])
    assert M["seed"].dtype == np.int64 and int(M["seed"]) == 3
    print("numpy cross-check: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
