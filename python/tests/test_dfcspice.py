import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dfcspice
from conftest import PACKAGE


def test_options_become_command_line_words():
    words = dfcspice._arguments({"trace_stride": 10, "feedback": True, "flat": False, "seed": None,
                                 "drift_time": [20, 3600]})
    assert words == ["--trace-stride", "10", "--feedback", "--drift-time", "20", "--drift-time", "3600"]


def test_init_and_teacher_return_arrays(workspace):
    a = workspace["arrays"]
    assert a["W1"].shape == (5, 4) and a["W2"].shape == (3, 5) and a["Q1"].shape == (5, 3)
    assert a["seed"].dtype == np.int64 and int(a["seed"]) == 3
    assert workspace["x"].shape == (6, 4) and workspace["y"].shape == (6, 3)


def test_solve_gives_the_tools_arrays_and_the_feedforward_pass_numpy_computes(workspace):
    w = workspace
    r = dfcspice.solve(w["config"], w["model"], w["x"], w["y"], variant="dfc-ssa")
    a = w["arrays"]
    # Independent truth: the feedforward potentials are W_1 x + b_1 and W_2 tanh(v_1) + b_2.
    v1 = w["x"] @ a["W1"].T + a["b1"]
    np.testing.assert_allclose(r["vff1"], v1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r["vff2"], np.tanh(v1) @ a["W2"].T + a["b2"], rtol=1e-12, atol=1e-12)
    assert r["status"].dtype == np.int64 and set(np.unique(r["status"])) <= {-1, 0, 1}
    assert r["dW1"].shape == (5, 4) and r["u"].shape == (6, 3)
    # Paths work as well as arrays, and give the same result.
    np.save(w["dir"] / "x.npy", w["x"])
    np.save(w["dir"] / "y.npy", w["y"])
    again = dfcspice.solve(w["config"], w["model"], w["dir"] / "x.npy", str(w["dir"] / "y.npy"), variant="dfc-ssa")
    np.testing.assert_array_equal(again["dW1"], r["dW1"])


def test_a_failure_raises_with_the_tools_error_line(workspace, tmp_path):
    with pytest.raises(dfcspice.DFCSpiceError) as e:
        dfcspice.solve(tmp_path / "missing.yaml", workspace["model"], workspace["x"], workspace["y"])
    assert "missing.yaml" in str(e.value) and e.value.returncode != 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: {sizes: [4, 5, 3]}\ndfc: {dt: -1}\n")
    with pytest.raises(dfcspice.DFCSpiceError) as e:
        dfcspice.solve(bad, workspace["model"], workspace["x"], workspace["y"])
    assert "dfc.dt" in str(e.value)
    # Wrong shapes are the tool's error too, not a Python traceback from deeper down.
    with pytest.raises(dfcspice.DFCSpiceError):
        dfcspice.solve(workspace["config"], workspace["model"], workspace["x"][:, :3], workspace["y"])
    with pytest.raises(TypeError):
        dfcspice.solve(workspace["config"], workspace["model"], np.array([["a"]]), workspace["y"])


def test_netlist_is_text_ngspice_reads(workspace):
    text = dfcspice.netlist(workspace["config"], workspace["model"], workspace["x"], workspace["y"], sample=1)
    lines = text.splitlines()
    assert lines[-1].strip().lower() == ".end" and any(l.lower().startswith(".tran") or l.lower().startswith(".op") for l in lines)


def test_compare_returns_the_report(workspace):
    r = dfcspice.compare(workspace["config"], workspace["model"], workspace["x"], workspace["y"], sample=0,
                         out=workspace["dir"] / "cmp")
    c = r["comparison"]
    assert len(c["updateAngles"]) == 2 and max(c["updateAngles"]) < 2.0
    assert (workspace["dir"] / "cmp" / "report.html").exists() and r["directory"].endswith("cmp")


def test_train_returns_the_metrics_as_records(workspace):
    records = dfcspice.train(workspace["config"], workspace["dir"] / "run", variant="dfc-ssa")
    assert [m["epoch"] for m in records] == [0, 1, 2, 3]
    assert records[-1]["testLoss"] < records[0]["testLoss"]
    with pytest.raises(dfcspice.DFCSpiceError) as e:
        dfcspice.train(workspace["config"], workspace["dir"] / "run", variant="dfc-ssa")
    assert "run" in str(e.value)


def test_pip_installs_the_package(tmp_path):
    """`pip install ./python` as the README says (into a scratch directory, not the system).
    pip builds it in an isolated environment, fetching setuptools from PyPI."""
    target = tmp_path / "site"
    # A copy, so the build leaves nothing in the checkout.
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
                          capture_output=True, text=True)
    if done.returncode != 0 and ("No module named pip" in done.stderr or "NewConnectionError" in done.stderr
                                 or "Could not find a version that satisfies the requirement setuptools" in done.stderr):
        pytest.skip("pip or PyPI is not available here: " + done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr
    probe = subprocess.run([sys.executable, "-c", "import dfcspice; print(dfcspice.__file__)"],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path)
    assert probe.returncode == 0 and str(target) in probe.stdout
