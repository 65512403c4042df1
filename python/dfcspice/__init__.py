"""Python door to the ``dfcspice`` command-line tool.

Runs ``dfcspice`` commands with keyword arguments and returns NumPy arrays and dicts. The
tool does the work; this module only moves arrays in and out through ``.npy``/``.npz`` files
in a temporary directory, so results are exactly what the command line gives.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["DFCSpiceError", "binary", "run", "init", "teacher", "solve", "netlist", "compare", "train"]
__version__ = "0.2.0"

ArrayLike = Union[np.ndarray, str, os.PathLike]


class DFCSpiceError(RuntimeError):
    """A ``dfcspice`` command failed. ``str(e)`` is the tool's ``error:`` line (without the prefix)."""

    def __init__(self, message: str, command: Sequence[str], returncode: int, stderr: str):
        super().__init__(message)
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr


def binary() -> str:
    """The ``dfcspice`` executable: ``$DFCSPICE_BIN``, ``dfcspice`` on ``PATH``, or a build of
    the repository around the working directory or this package (release before debug)."""
    env = os.environ.get("DFCSPICE_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise DFCSpiceError(f"DFCSPICE_BIN={env} is not an executable", [], -1, "")
        return env
    found = shutil.which("dfcspice")
    if found:
        return found
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start, *start.parents):
            for build in ("release", "debug"):
                candidate = directory / ".build" / build / "dfcspice"
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return str(candidate)
    raise DFCSpiceError("dfcspice not found: set DFCSPICE_BIN, put it on PATH, or build the repository "
                        "(swift build -c release)", [], -1, "")


def _arguments(options: Dict[str, Any]) -> List[str]:
    """Keyword options as command-line words: ``trace_stride=10`` → ``--trace-stride 10``,
    ``True`` → a flag, ``False``/``None`` → nothing, a list → the option once per value."""
    words: List[str] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        name = "--" + key.replace("_", "-")
        if value is True:
            words.append(name)
        elif isinstance(value, (list, tuple)):
            for v in value:
                words += [name, str(v)]
        else:
            words += [name, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return words


def run(command: str, *arguments: str, check: bool = True, **options: Any) -> subprocess.CompletedProcess:
    """Runs ``dfcspice COMMAND ARGUMENTS --options…`` and returns the finished process.

    With ``check`` (the default) a non-zero exit raises :class:`DFCSpiceError` carrying the
    tool's ``error:`` line."""
    argv = [binary(), *command.split(), *[os.fspath(a) for a in arguments], *_arguments(options)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if check and done.returncode != 0:
        lines = [l for l in done.stderr.splitlines() if l.startswith("error:")]
        message = lines[-1][len("error:"):].strip() if lines else (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise DFCSpiceError(message, argv, done.returncode, done.stderr)
    return done


def _load_npz(path: Union[str, os.PathLike]) -> Dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def _as_file(value: ArrayLike, directory: str, name: str) -> str:
    """A path for ``value``: itself if it is one, else the array saved as ``.npy`` in ``directory``."""
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a numeric array or a path, got dtype {array.dtype}")
    path = os.path.join(directory, name + ".npy")
    np.save(path, array)
    return path


def init(config: Union[str, os.PathLike], out: Union[str, os.PathLike], seed: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Writes an initialized model to ``out`` (``dfcspice init``) and returns its arrays."""
    run("init", config=config, out=out, seed=seed)
    return _load_npz(out)


def teacher(config: Union[str, os.PathLike], samples: int = 128, seed: int = 1,
            teacher_seed: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """A student–teacher batch: inputs N(0, 1) labelled by the config's teacher network."""
    with tempfile.TemporaryDirectory(prefix="dfcspice-") as d:
        x, y = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
        run("teacher", config=config, samples=samples, seed=seed, teacher_seed=teacher_seed, inputs_out=x, labels_out=y)
        return np.load(x), np.load(y)


def solve(config: Union[str, os.PathLike], model: Union[str, os.PathLike], x: ArrayLike, y: ArrayLike,
          variant: Optional[str] = None, **options: Any) -> Dict[str, np.ndarray]:
    """One variant on a batch (``dfcspice solve``): every array of its result — ``u``, ``v1``…,
    ``dW1``…, ``status`` (1 converged, 0 not, −1 diverged), ``seed``, ``loss``, traces when
    ``trace_stride`` is given. Options: ``seed``, ``trace_stride``, ``feedback=True``."""
    with tempfile.TemporaryDirectory(prefix="dfcspice-") as d:
        out = os.path.join(d, "r.npz")
        run("solve", config=config, model=model, input=_as_file(x, d, "x"), labels=_as_file(y, d, "y"),
            variant=variant, out=out, **options)
        return _load_npz(out)


def netlist(config: Union[str, os.PathLike], model: Union[str, os.PathLike], x: ArrayLike, y: Optional[ArrayLike] = None,
            sample: int = 0, out: Optional[Union[str, os.PathLike]] = None, **options: Any) -> str:
    """The ngspice netlist of one sample (``dfcspice netlist``), as text; also written to
    ``out`` if given. Options: ``phase``, ``flat=True``, ``realised``."""
    with tempfile.TemporaryDirectory(prefix="dfcspice-") as d:
        target = os.fspath(out) if out is not None else os.path.join(d, "net.cir")
        labels = _as_file(y, d, "y") if y is not None else None
        run("netlist", config=config, model=model, input=_as_file(x, d, "x"), labels=labels, sample=sample,
            out=target, **options)
        return Path(target).read_text()


def compare(config: Union[str, os.PathLike], model: Union[str, os.PathLike], x: ArrayLike, y: ArrayLike,
            sample: int = 0, out: Optional[Union[str, os.PathLike]] = None, **options: Any) -> Dict[str, Any]:
    """One sample as a circuit in ngspice against the ideal solver (``dfcspice compare``).
    Returns ``report.json`` (``comparison``: per-signal agreement and ΔW angles; ``context``)
    with ``"directory"``, where ``report.html`` and the plots are (a temporary directory is
    removed, so pass ``out`` to keep them). Options as the command's (``reference``,
    ``ideal_weights``, ``engine``, …)."""
    with tempfile.TemporaryDirectory(prefix="dfcspice-") as d:
        target = os.fspath(out) if out is not None else os.path.join(d, "compare")
        run("compare", config=config, model=model, input=_as_file(x, d, "x"), labels=_as_file(y, d, "y"),
            sample=sample, out=target, **options)
        report = json.loads(Path(target, "report.json").read_text())
        report["directory"] = target if out is not None else None
        return report


def train(config: Union[str, os.PathLike], out: Union[str, os.PathLike], backend: str = "ideal", **options: Any) -> List[Dict[str, Any]]:
    """Trains (``dfcspice train``) into the run directory ``out`` and returns its metrics, one
    dict per epoch (``epoch``, ``trainLoss``, ``testLoss``, ``testError``, ``seconds``, …).
    Options: ``data``, ``limit``, ``variant``, ``workers``, ``data_dir``; ``resume=RUN``
    continues a stopped run (then ``out`` is that run)."""
    if options.get("resume"):
        run("train", backend=backend, **options)
    else:
        run("train", config=config, out=out, backend=backend, **options)
    metrics = Path(options.get("resume") or out, "metrics.jsonl")
    return [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
