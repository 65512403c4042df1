#!/usr/bin/env python3
"""The hostile-input corpus: generates every case and runs it through the dfcspice CLI.

    python3 Tests/hostile/corpus.py BIN [--keep DIR] [--jobs N] [--only SUBSTRING]

Each case is a file (or a directory of files) that some command reads, and the command line
that reads it. Every case must end in bounded time and memory (`ulimit -v`, a timeout) with:
  - a non-zero exit status that is not a signal;
  - exactly one line starting with "error:" (ArgumentParser's own errors say "Error:");
  - nothing left behind: the case's output directory is empty afterwards, and files the
    case names as precious (an input, a device node) are unchanged.
The fixtures are made here, from a fixed seed, by hand-written writers for .npy, .npz, IDX
and YAML (standard library only: no NumPy), so the repository holds no large binaries.
Prints one line per failing case and a summary: tried / clear error / crash / hang / partial
output. Exit status 0 only when every case behaved.
"""
import argparse
import concurrent.futures
import gzip
import hashlib
import io
import os
import random
import resource
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib

MEMORY_LIMIT = 3 << 30      # bytes of address space per case (ulimit -v)
TIMEOUT = 60                # seconds per case


# ---------- writers ----------

def npy(shape, values=None, descr="<f8", fortran=False, header=None, version=1, data=None):
    """A .npy payload. `header` replaces the dict text, `data` the element bytes."""
    if header is None:
        dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, "True" if fortran else "False", dims)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(header) + 1) % 64) % 64
    text = (header + " " * pad + "\n").encode("latin-1")
    out = b"\x93NUMPY" + bytes([version, 0]) + (struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))) + text
    if data is None:
        count = 1
        for d in shape:
            count *= d
        values = values if values is not None else [0.1 * ((k * 7) % 11 - 5) for k in range(count)]
        data = struct.pack("<%dd" % len(values), *values)
    return out + data


def npz(entries, method=zipfile.ZIP_STORED):
    warnings.filterwarnings("ignore", "Duplicate name")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, payload in entries:
            z.writestr(name, payload)
    return buf.getvalue()


def model_entries(sizes=(4, 5, 3), skip=(), replace=None):
    rng = random.Random(7)
    replace = replace or {}
    L = len(sizes) - 1
    out = []
    for i in range(1, L + 1):
        n, m, nl = sizes[i], sizes[i - 1], sizes[-1]
        for name, shape in (("W%d" % i, (n, m)), ("b%d" % i, (n,)), ("Q%d" % i, (n, nl))):
            if name in skip:
                continue
            if name in replace:
                out.append((name + ".npy", replace[name]))
                continue
            count = 1
            for d in shape:
                count *= d
            out.append((name + ".npy", npy(shape, [rng.gauss(0, 0.3) for _ in range(count)])))
    return out


def idx(dims, payload=None, type_code=0x08):
    header = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    if payload is None:
        count = 1
        for d in dims:
            count *= d
        payload = bytes(count)
    return header + payload


def patch_crc(data):
    """Flips the CRC-32 of the first entry in both its local header and central record."""
    b = bytearray(data)
    b[14] ^= 0xFF
    cd = b.rfind(b"PK\x01\x02")
    b[cd + 16] ^= 0xFF
    return bytes(b)


# ---------- the cases ----------

CONFIG = """seed: 3
network: {sizes: [4, 5, 3], loss: mse}
dfc: {steps: 200, dt: 0.01}
feedback: {steps: 20}
training: {trainSamples: 32, testSamples: 8, batchSize: 8, epochs: 1}
"""

IMAGE_CONFIG = """seed: 3
network: {sizes: [784, 8, 10], loss: cross-entropy}
variant: bp
training: {batchSize: 64, epochs: 1}
"""


class Corpus:
    def __init__(self, root):
        self.root = root
        self.cases = []
        os.makedirs(os.path.join(root, "files"), exist_ok=True)
        os.makedirs(os.path.join(root, "out"), exist_ok=True)

    def file(self, name, content):
        path = os.path.join("files", name)
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return path

    def case(self, name, fmt, args, precious=(), memory=MEMORY_LIMIT, expect=None):
        """`args` may use {out} for the case's own output directory."""
        out = os.path.join("out", name)
        self.cases.append(dict(name=name, format=fmt, args=[a.replace("{out}", out) for a in args],
                               out=out, precious=list(precious), memory=memory, expect=expect))

    # -- configs (YAML and JSON) --
    def configs(self):
        bad = {
            "malformed": "network: {sizes: [4, 5\n",
            "tab-indent": "network:\n\tsizes: [4, 3]\n",
            "top-list": "- 1\n- 2\n",
            "top-scalar": "42\n",
            "empty": "",
            "unknown-key": CONFIG + "colour: red\n",
            "unknown-nested": CONFIG.replace("loss: mse", "loss: mse, kP: 3"),
            "sizes-missing": "network: {loss: mse}\n",
            "sizes-text": "network: {sizes: four}\n",
            "sizes-one": "network: {sizes: [4]}\n",
            "sizes-zero": "network: {sizes: [4, 0, 3]}\n",
            "sizes-negative": "network: {sizes: [4, -5, 3]}\n",
            "sizes-fraction": "network: {sizes: [4, 2.5, 3]}\n",
            "sizes-billion": "network: {sizes: [4, 1000000000, 2]}\n",
            "sizes-50k": "network: {sizes: [4, 50000, 50000, 2]}\n",
            "sizes-int64max": "network: {sizes: [9223372036854775807, 9223372036854775807, 2]}\n",
            "sizes-overflow-product": "network: {sizes: [4294967296, 4294967296, 2]}\n",
            "sizes-huge-float": "network: {sizes: [4, 1e300, 2]}\n",
            "layers-100002": "network: {sizes: [%s]}\n" % ", ".join(["2"] * 100003),
            "activations-count": "network: {sizes: [4, 5, 3], activations: [tanh]}\n",
            "activation-unknown": "network: {sizes: [4, 5, 3], hiddenActivation: relu6}\n",
            "loss-unknown": "network: {sizes: [4, 5, 3], loss: hinge}\n",
            "variant-unknown": CONFIG + "variant: dfc-turbo\n",
            "seed-negative": CONFIG.replace("seed: 3", "seed: -1"),
            "seed-text": CONFIG.replace("seed: 3", "seed: abc"),
            "seed-huge": CONFIG.replace("seed: 3", "seed: 1e30"),
            "dt-nan": CONFIG.replace("dt: 0.01", "dt: .nan"),
            "dt-inf": CONFIG.replace("dt: 0.01", "dt: .inf"),
            "dt-negative": CONFIG.replace("dt: 0.01", "dt: -0.01"),
            "dt-unstable": CONFIG.replace("dt: 0.01", "dt: 5"),
            "steps-1e12": CONFIG.replace("steps: 200", "steps: 1000000000000"),
            "steps-zero": CONFIG.replace("steps: 200", "steps: 0"),
            "kp-negative": CONFIG.replace("dfc: {", "dfc: {kp: -1, "),
            "lambda-zero": CONFIG.replace("dfc: {", "dfc: {lambda: 0, "),
            "tauv-text": CONFIG.replace("dfc: {", "dfc: {tauV: fast, "),
            "section-list": CONFIG + "conventions: [1, 2]\n",
            "preset-unknown": CONFIG + "conventions: {preset: mine}\n",
            "diagnostics-zero": CONFIG + "diagnostics: {samples: 0}\n",
            "weight-product-forward": "network: {sizes: [4, 5, 3], init: weight-product}\n",
            "billion-laughs": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                              "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                              "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                              "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                              "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\nnetwork: {sizes: [4, 3]}\n",
            "undefined-alias": "network: {sizes: *nothing}\n",
            "key-sequence": "network: {sizes: [4, 3]}\n? [a, b]\n: 1\n",
            "key-mapping": "network: {sizes: [4, 3], {x: 1}: 2}\n",
            "deep-brackets": "network: {sizes: " + "[" * 5000 + "]" * 5000 + "}\n",
            "deep-indent": "".join(" " * k + "k%d:\n" % k for k in range(0, 300)) + "network: {sizes: [4, 3]}\n",
            "layers-1500": "network: {sizes: [%s]}\n" % ", ".join(["2"] * 1501),
            "two-megabytes": CONFIG + "# " + "x" * (2 << 20) + "\n",
            "not-utf8": b"network: {sizes: [4, 3]}\n# \xff\xfe\xfa\n",
            "nul-bytes": "network: {sizes: [4, 3]}\n\x00\x00\n",
            "json-trailing": '{"network": {"sizes": [4, 3]}} trailing',
            "json-sizes-string": '{"network": {"sizes": "4,3"}}',
            "json-duplicate-key": '{"network": {"sizes": [4, 3]}, "network": {"sizes": [2, 2]}}',
            "circuit-negative-r": CONFIG + "circuit: {somaResistance: -5}\n",
            "circuit-bits-zero": CONFIG + "circuit: {device: {bits: 0}}\n",
            "circuit-bits-99": CONFIG + "circuit: {device: {bits: 99}}\n",
            "circuit-gmin-gmax": CONFIG + "circuit: {device: {gMin: 1e-3, gMax: 1e-4}}\n",
            "circuit-stuck-2": CONFIG + "circuit: {device: {stuckOnFraction: 2}}\n",
            "circuit-opamp-unknown": CONFIG + "circuit: {opamp: {model: magic}}\n",
            "circuit-transtep-tiny": CONFIG + "circuit: {tranStep: 1e-30}\n",
            "circuit-opamp-slew-negative": CONFIG + "circuit: {opamp: {model: macromodel, slewRate: -1}}\n",
            "circuit-opamp-offset-nan": CONFIG + "circuit: {opamp: {model: macromodel, offsetSigma: .nan}}\n",
            "circuit-wire-negative": CONFIG + "circuit: {wire: {rowResistance: -2}}\n",
            "circuit-wire-unknown": CONFIG + "circuit: {wire: {sheetResistance: 2}}\n",
            "circuit-wire-exact-map-zero": CONFIG + "circuit: {wire: {rowResistance: 1, exactMapEvery: 0}}\n",
            "circuit-wire-exact-map-huge": CONFIG + "circuit: {wire: {rowResistance: 1, exactMapEvery: 1e300}}\n",
            "circuit-dc-read-noise-text": CONFIG + "circuit: {dcReadNoise: sometimes}\n",
            "circuit-activation-unknown": CONFIG + "circuit: {activation: {model: jfet-pair}}\n",
            "circuit-activation-mos-aspect-negative": CONFIG + "circuit: {activation: {model: mos-pair, aspectRatio: -1}}\n",
            "circuit-activation-mos-beta": CONFIG + "circuit: {activation: {model: mos-pair, beta: 100}}\n",
            "circuit-opamp-cmos-compensation-zero": CONFIG + "circuit: {opamp: {model: cmos-two-stage, compensation: 0}}\n",
            "circuit-opamp-cmos-gain": CONFIG + "circuit: {opamp: {model: cmos-two-stage, gain: 1e6}}\n",
            "circuit-device-preset-unknown": CONFIG + "circuit: {device: {preset: flash}}\n",
            "circuit-device-read-noise-negative": CONFIG + "circuit: {device: {readNoise: -0.01}}\n",
            "circuit-device-nonlinearity-inf": CONFIG + "circuit: {device: {nonlinearityVoltage: .inf}}\n",
            "circuit-device-polynomial-text": CONFIG + "circuit: {device: {programmingNoisePolynomial: [0.01, x]}}\n",
            "circuit-device-polynomial-long": CONFIG + "circuit: {device: {programmingNoisePolynomial: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]}}\n",
            "circuit-converters-bits-1": CONFIG + "circuit: {converters: {read: {bits: 1}}}\n",
            "circuit-converters-no-bits": CONFIG + "circuit: {converters: {write: {range: 2}}}\n",
            "circuit-converters-range-zero": CONFIG + "circuit: {converters: {input: {bits: 8, range: 0}}}\n",
            "circuit-converters-unknown": CONFIG + "circuit: {converters: {adc: {bits: 8}}}\n",
            "circuit-activation-saturating": CONFIG + "circuit: {activation: {model: bjt-pair, tailCurrent: 1e-3, loadResistance: 1e4}}\n",
            "circuit-temperature-below-zero-kelvin": CONFIG + "circuit: {temperature: -300}\n",
            "circuit-drift-nu-negative": CONFIG + "circuit: {device: {driftNu: -0.1, driftTime: 3600}}\n",
            "circuit-drift-reference-zero": CONFIG + "circuit: {device: {driftReferenceTime: 0}}\n",
            "circuit-include-control": CONFIG + "circuit: {include: ['.control']}\n",
            "circuit-include-control-semicolon": CONFIG + "circuit: {include: ['.control;x', 'shell touch pwned']}\n",
            "circuit-include-controlfoo": CONFIG + "circuit: {include: ['.CONTROLfoo']}\n",
            "circuit-include-inc": CONFIG + "circuit: {include: ['.inc /etc/passwd']}\n",
            "circuit-include-lib": CONFIG + "circuit: {include: ['.lib /etc/passwd x']}\n",
            "circuit-include-star-hash": CONFIG + "circuit: {include: ['*# shell touch pwned']}\n",
            "circuit-include-tran": CONFIG + "circuit: {include: ['.tran;1 1']}\n",
            "circuit-include-nonascii": CONFIG + "circuit: {include: ['R1 a b 1k \u00e9']}\n",
            "circuit-include-newline": CONFIG + "circuit: {include: [\"R1 a b 1k\\n.control\"]}\n",
            "training-batch-zero": CONFIG.replace("batchSize: 8", "batchSize: 0"),
            "training-lr-negative": CONFIG.replace("training: {", "training: {learningRate: -1, "),
            "training-beta-one": CONFIG.replace("training: {", "training: {beta1: 1, "),
            "training-optimizer-unknown": CONFIG.replace("training: {", "training: {optimizer: lion, "),
        }
        for name, text in bad.items():
            path = self.file("config/%s.yaml" % name, text)
            self.case("config-" + name, "config", ["init", "--config", path, "--out", "{out}/m.npz"])
        # The same loader behind train (the memory estimate there covers the data too).
        for name, text in {
            "train-samples-1e12": CONFIG.replace("trainSamples: 32", "trainSamples: 1000000000000"),
            "train-samples-negative": CONFIG.replace("trainSamples: 32", "trainSamples: -3"),
            "train-epochs-zero": CONFIG.replace("epochs: 1", "epochs: 0"),
            "train-checkpoint-text": CONFIG.replace("training: {", "training: {checkpointEvery: often, "),
        }.items():
            path = self.file("config/%s.yaml" % name, text)
            self.case("config-" + name, "config", ["train", "--config", path, "--out", "{out}/run"])
        # Traces of every step: 10⁷ steps × 6 samples × 30 signals would be 14 GB.
        path = self.file("config/traces-huge.yaml", CONFIG.replace("steps: 200, dt: 0.01", "steps: 10000000, dt: 0.01, traceStride: 1"))
        self.case("config-solve-traces-huge", "config", ["solve", "--config", path, "--model", "files/m.npz", "--input", "files/x.npy",
                                                         "--labels", "files/y.npy", "--variant", "dfc", "--out", "{out}/r.npz"])
        for special, name in (("/dev/zero", "devzero"), ("files", "directory"), ("files/nosuch.yaml", "missing")):
            self.case("config-" + name, "config", ["init", "--config", special, "--out", "{out}/m.npz"])

    # -- .npy (inputs and labels of solve) --
    def npys(self):
        x_ok = self.file("x.npy", npy((6, 4)))
        y_ok = self.file("y.npy", npy((6, 3)))
        self.file("c.yaml", CONFIG)
        self.file("m.npz", npz(model_entries()))
        bad = {
            "magic": b"NOTNPY" + npy((6, 4))[6:],
            "version-9": npy((6, 4))[:6] + b"\x09" + npy((6, 4))[7:],
            "truncated-preamble": b"\x93NUMPY\x01",
            "header-length-huge": npy((6, 4))[:8] + b"\xff\xff" + npy((6, 4))[10:],
            "header-v2-length-huge": npy((6, 4), version=2)[:8] + b"\xff\xff\xff\x7f" + npy((6, 4), version=2)[12:],
            "header-not-dict": npy((6, 4), header="hello"),
            "descr-complex": npy((6, 4), descr="<c16"),
            "descr-object": npy((6, 4), descr="|O"),
            "descr-string": npy((6, 4), descr="<U8"),
            "descr-missing": npy((6, 4), header="{'fortran_order': False, 'shape': (6, 4), }"),
            "shape-negative": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (-6, 4), }"),
            "shape-text": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (six, 4), }"),
            "shape-unterminated": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (6, 4, }"),
            "shape-1e12": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 4), }"),
            "shape-overflow": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }"),
            "shape-int64max": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 4), }"),
            "shape-1e9-rows": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 4), }"),
            "key-twice": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (6, 4), 'shape': (24,), }"),
            "descr-twice": npy((6, 4), header="{'descr': '<f8', 'descr': '<i8', 'fortran_order': False, 'shape': (6, 4), }"),
            "data-truncated": npy((6, 4))[:-9],
            "data-empty": npy((6, 4))[:128],
            "header-not-utf8": npy((6, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (6, 4), } \udcff".encode("utf-8", "surrogateescape").decode("latin-1")),
            "nan": npy((6, 4), [float("nan")] * 24),
            "inf": npy((6, 4), [float("inf")] + [0.0] * 23),
            "wrong-width": npy((6, 5)),
            "three-d": npy((2, 3, 4)),
            "zero-rows": npy((0, 4), []),
            "scalar": npy((), [1.0]),
            "empty-file": b"",
        }
        for name, payload in bad.items():
            path = self.file("npy/%s.npy" % name, payload)
            self.case("npy-input-" + name, "npy", ["solve", "--config", "files/c.yaml", "--model", "files/m.npz",
                                                   "--input", path, "--labels", y_ok, "--out", "{out}/r.npz"])
        labels = {
            "class-out-of-range": npy((6,), [0, 1, 2, 3, 0, 1]),
            "class-negative": npy((6,), [0, 1, -1, 0, 0, 1]),
            "class-fraction": npy((6,), [0, 1, 1.5, 0, 0, 1]),
            "wrong-batch": npy((5, 3)),
            "nan": npy((6, 3), [float("nan")] * 18),
            "descr-bool-huge-shape": npy((6, 3), header="{'descr': '|b1', 'fortran_order': False, 'shape': (100000000000,), }"),
        }
        for name, payload in labels.items():
            path = self.file("npy/labels-%s.npy" % name, payload)
            self.case("npy-labels-" + name, "npy", ["solve", "--config", "files/c.yaml", "--model", "files/m.npz",
                                                    "--input", x_ok, "--labels", path, "--out", "{out}/r.npz"])

    # -- .npz (models) --
    def npzs(self):
        good = npz(model_entries())
        bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
        bad = {
            "not-zip": b"this is not a zip archive at all",
            "empty-zip": npz([]),
            "truncated": good[: len(good) // 2],
            "missing-W1": npz(model_entries(skip=("W1",))),
            "W1-shape": npz(model_entries(replace={"W1": npy((4, 5))})),
            "W1-1d": npz(model_entries(replace={"W1": npy((20,))})),
            "b1-2d": npz(model_entries(replace={"b1": npy((5, 1))})),
            "extra-layer": npz(model_entries() + [("W7.npy", npy((2, 2)))]),
            "W1-nan": npz(model_entries(replace={"W1": npy((5, 4), [float("nan")] * 20)})),
            "Q2-inf": npz(model_entries(replace={"Q2": npy((3, 3), [float("inf")] * 9)})),
            "W1-bad-npy": npz(model_entries(replace={"W1": b"garbage"})),
            "W1-key-twice": npz(model_entries(replace={"W1": npy((5, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (5, 4), 'shape': (20,), }")})),
            "bad-crc": patch_crc(good),
            "duplicate-names": npz(model_entries() + [("W1.npy", npy((5, 4)))]),
            "dotdot": npz(model_entries() + [("../../evil.npy", npy((2,)))]),
            "absolute": npz(model_entries() + [("/tmp/evil.npy", npy((2,)))]),
            "deflated-W1-shape": npz(model_entries(replace={"W1": npy((9, 9))}), zipfile.ZIP_DEFLATED),
            "header-says-more": npz(model_entries(replace={"W1": npy((5, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (500, 400), }")})),
            "header-says-1e12": npz(model_entries(replace={"W1": npy((5, 4), header="{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }")})),
        }
        # A deflate bomb: 1 GiB of zeros in about a megabyte, declared honestly; the memory
        # limit below is smaller, so it must be refused before it is inflated.
        zeros = bytes(1 << 24)
        body = b"".join(bomb.compress(zeros) for _ in range(64)) + bomb.flush()
        header = npy((1 << 27,), header="{'descr': '<f8', 'fortran_order': False, 'shape': (134217728,), }", data=b"")
        bad["bomb-1gib"] = self.deflated_entry("W1.npy", header, body, len(header) + (1 << 30),
                                               zlib.crc32(header + bytes(1 << 30)) if False else 0)
        # A liar: declares 64 bytes, inflates to 16 MiB.
        liar = zlib.compressobj(9, zlib.DEFLATED, -15)
        bad["declared-too-small"] = self.deflated_entry("W1.npy", b"", liar.compress(bytes(1 << 24)) + liar.flush(), 64, 0)
        for name, payload in bad.items():
            path = self.file("npz/%s.npz" % name, payload)
            memory = (1536 << 20) if name.startswith("bomb") else MEMORY_LIMIT
            self.case("npz-" + name, "npz", ["solve", "--config", "files/c.yaml", "--model", path, "--input", "files/x.npy",
                                             "--labels", "files/y.npy", "--out", "{out}/r.npz"], memory=memory)

    @staticmethod
    def deflated_entry(name, header, body_deflated, declared_size, crc):
        """A one-entry ZIP whose entry is `header` stored raw before the deflated body is not
        possible; instead the whole entry is deflated: header bytes are deflated first."""
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = comp.compress(header) + comp.flush(zlib.Z_SYNC_FLUSH) + body_deflated
        n = name.encode()
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), declared_size & 0xFFFFFFFF, len(n), 0) + n
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), declared_size & 0xFFFFFFFF,
                              len(n), 0, 0, 0, 0, 0, 0) + n
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
        return local + data + central + end

    # -- IDX (Fashion-MNIST files, read by train --data images) --
    def idxs(self):
        self.file("img.yaml", IMAGE_CONFIG)
        images = gzip.compress(idx((5008, 28, 28)), 9)
        labels = gzip.compress(idx((5008,), bytes(k % 10 for k in range(5008))), 9)
        test_images = gzip.compress(idx((16, 28, 28)), 9)
        test_labels = gzip.compress(idx((16,), bytes(k % 10 for k in range(16))), 9)
        good = {"train-images-idx3-ubyte.gz": images, "train-labels-idx1-ubyte.gz": labels,
                "t10k-images-idx3-ubyte.gz": test_images, "t10k-labels-idx1-ubyte.gz": test_labels}
        gz_bomb = gzip.compress(idx((16, 28, 28)) + bytes(1 << 28), 9)
        bad = {
            "magic": ("train-images-idx3-ubyte.gz", gzip.compress(b"\x01\x02" + idx((16, 28, 28))[2:])),
            "type-float": ("train-images-idx3-ubyte.gz", gzip.compress(idx((16, 28, 28), type_code=0x0D))),
            "rank-zero": ("train-images-idx3-ubyte.gz", gzip.compress(bytes([0, 0, 8, 0]))),
            "dims-ffffffff": ("train-images-idx3-ubyte.gz", gzip.compress(bytes([0, 0, 8, 3]) + b"\xff" * 12)),
            "dims-huge": ("train-images-idx3-ubyte.gz", gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 60000, 784))),
            "rank-255": ("train-images-idx3-ubyte.gz", gzip.compress(bytes([0, 0, 8, 255]) + b"\x00\x00\x00\x02" * 255)),
            "truncated-header": ("train-images-idx3-ubyte.gz", gzip.compress(bytes([0, 0, 8, 3, 0, 0]))),
            "truncated-data": ("train-images-idx3-ubyte.gz", gzip.compress(idx((5008, 28, 28))[:-100])),
            "extra-data": ("train-images-idx3-ubyte.gz", gzip.compress(idx((5008, 28, 28)) + b"tail")),
            "gzip-bomb": ("train-images-idx3-ubyte.gz", gz_bomb),
            "gzip-corrupt": ("train-images-idx3-ubyte.gz", images[:20] + b"\x00" * 40 + images[60:]),
            "labels-over-9": ("train-labels-idx1-ubyte.gz", gzip.compress(idx((5008,), bytes([12] * 5008)))),
            "labels-count": ("train-labels-idx1-ubyte.gz", gzip.compress(idx((5007,), bytes(5007)))),
            "images-2d": ("train-images-idx3-ubyte.gz", gzip.compress(idx((5008, 784)))),
            "too-few-images": ("train-images-idx3-ubyte.gz", gzip.compress(idx((100, 28, 28))),
                               "train-labels-idx1-ubyte.gz", gzip.compress(idx((100,), bytes(100)))),
            "missing-test-labels": ("t10k-labels-idx1-ubyte.gz", None),
        }
        for name, replacement in bad.items():
            directory = "idx/" + name
            replaced = dict(zip(replacement[0::2], replacement[1::2]))
            for fname, content in good.items():
                content = replaced.get(fname, content)
                if content is not None:
                    self.file(directory + "/" + fname, content)
            self.case("idx-" + name, "idx", ["train", "--config", "files/img.yaml", "--data", "images",
                                             "--data-dir", "files/" + directory, "--out", "{out}/run"])
        self.case("idx-no-directory", "idx", ["train", "--config", "files/img.yaml", "--data", "images",
                                              "--data-dir", "files/idx/nosuch", "--out", "{out}/run"])

    # -- netlists (simulate) --
    def netlists(self):
        ok = "rc\nV1 in 0 DC 1\nR1 in out 1k\nC1 out 0 1u\n.tran 10u 1m\n.end\n"
        bad = {
            "control": ok.replace(".end", ".control\nshell touch pwned\n.endc\n.end"),
            "control-semicolon": ok.replace(".end", ".control;x\nshell touch pwned\n.endc\n.end"),
            "control-suffix": ok.replace(".end", ".CONTROLfoo\nshell touch pwned\n.endc\n.end"),
            "star-hash": ok.replace(".end", "*#shell touch pwned\n.end"),
            "ng-script": ok.replace(".end", "*ng_script\n.end"),
            "include": ok.replace(".end", ".include /etc/passwd\n.end"),
            "inc": ok.replace(".end", ".inc /etc/passwd\n.end"),
            "lib": ok.replace(".end", ".lib /etc/passwd tt\n.end"),
            "exec": ok.replace(".end", ".exec\n.end"),
            "non-ascii": ok.replace("R1 in out 1k", "R1 in out 1k \u00b5"),
            "control-char": ok.replace("R1 in out 1k", "R1 in out 1k \x07"),
            "no-analysis": ok.replace(".tran 10u 1m\n", ""),
            "syntax": ok.replace("R1 in out 1k", "X1 in out nosuchsubckt"),
            "unknown-node-value": ok.replace("R1 in out 1k", "R1 in out banana"),
            "binary": bytes(range(256)) * 4,
            "empty": "",
            "only-title": "title only\n",
            "timestep-too-small": "bad\nV1 a 0 PULSE(0 1 0 1e-30 1e-30 1 2)\nR1 a 0 1k\n.tran 1e-40 1e-9\n.end\n",
        }
        for name, text in bad.items():
            path = self.file("netlist/%s.cir" % name, text)
            self.case("netlist-" + name, "netlist", ["simulate", "--netlist", path, "--out", "{out}/t.npz"])
        # A long transient that cannot finish within its limit.
        path = self.file("netlist/slow.cir", "slow\nV1 a 0 SIN(0 1 1e6)\nR1 a b 1k\nC1 b 0 1n\n.tran 1u 1 0 1n\n.end\n")
        self.case("netlist-time-limit", "netlist", ["simulate", "--netlist", path, "--out", "{out}/t.npz", "--time-limit", "2"])
        self.case("netlist-directory", "netlist", ["simulate", "--netlist", "files", "--out", "{out}/t.npz"])
        self.case("netlist-devzero", "netlist", ["simulate", "--netlist", "/dev/zero", "--out", "{out}/t.npz"])
        self.case("netlist-missing", "netlist", ["simulate", "--netlist", "files/nosuch.cir", "--out", "{out}/t.npz"])

    # -- paths --
    def paths(self):
        self.file("run-like/metrics.jsonl", '{"epoch": 1}\n')
        self.file("not-empty/notes.txt", "keep me\n")
        self.file("a-file", "not a directory\n")
        solve = ["solve", "--config", "files/c.yaml", "--model", "files/m.npz", "--input", "files/x.npy", "--labels", "files/y.npy"]
        # Device nodes of the corpus's own (as root; /dev itself is never a target, so a
        # regression destroys only these copies), and a FIFO, which must not block the writer.
        if os.geteuid() == 0:
            for name, minor in (("dev-full", 7), ("dev-null", 3)):
                os.mknod(os.path.join(self.root, "files", name), 0o666 | stat.S_IFCHR, os.makedev(1, minor))
                self.case("path-out-" + name, "path", ["init", "--config", "files/c.yaml", "--out", "files/" + name], precious=["files/" + name])
        os.mkfifo(os.path.join(self.root, "files", "fifo"))
        self.case("path-out-fifo", "path", ["init", "--config", "files/c.yaml", "--out", "files/fifo"], precious=["files/fifo"])
        self.case("path-config-fifo", "path", ["init", "--config", "files/fifo", "--out", "{out}/m.npz"], precious=["files/fifo"])
        self.case("path-out-directory", "path", ["init", "--config", "files/c.yaml", "--out", "files"])
        self.case("path-out-missing-dir", "path", ["init", "--config", "files/c.yaml", "--out", "files/nosuch/m.npz"])
        self.case("path-out-is-config", "path", ["init", "--config", "files/c.yaml", "--out", "files/c.yaml"], precious=["files/c.yaml"])
        self.case("path-out-is-model", "path", solve + ["--out", "files/m.npz"], precious=["files/m.npz"])
        self.case("path-out-is-input-respelled", "path", solve + ["--out", "files/../files/./x.npy"], precious=["files/x.npy"])
        self.case("path-teacher-out-is-config", "path", ["teacher", "--config", "files/c.yaml", "--inputs-out", "files/c.yaml",
                                                         "--labels-out", "{out}/y.npy"], precious=["files/c.yaml"])
        self.case("path-teacher-samples-1e12", "path", ["teacher", "--config", "files/c.yaml", "--samples", "1000000000000",
                                                        "--inputs-out", "{out}/x.npy", "--labels-out", "{out}/y.npy"])
        self.case("path-netlist-out-is-model", "path", ["netlist", "--config", "files/c.yaml", "--model", "files/m.npz", "--input", "files/x.npy",
                                                        "--out", "files/m.npz"], precious=["files/m.npz"])
        self.case("path-train-out-run-like", "path", ["train", "--config", "files/c.yaml", "--out", "files/run-like"],
                  precious=["files/run-like/metrics.jsonl"])
        self.case("path-train-out-not-empty", "path", ["train", "--config", "files/c.yaml", "--out", "files/not-empty"],
                  precious=["files/not-empty/notes.txt"])
        self.case("path-train-out-file", "path", ["train", "--config", "files/c.yaml", "--out", "files/a-file"], precious=["files/a-file"])
        self.case("path-train-resume-missing", "path", ["train", "--resume", "files/nosuch-run"])
        self.case("path-train-resume-not-run", "path", ["train", "--config", "files/c.yaml", "--resume", "files/not-empty"],
                  precious=["files/not-empty/notes.txt"])
        self.case("path-train-bad-data-dir", "path", ["train", "--config", "files/img.yaml", "--data", "images",
                                                      "--data-dir", "files/nosuch", "--out", "{out}/run"])
        self.case("path-compare-out-is-file", "path", ["compare", "--config", "files/c.yaml", "--model", "files/m.npz", "--input", "files/x.npy",
                                                       "--labels", "files/y.npy", "--out", "files/a-file"], precious=["files/a-file"])
        self.case("path-simulate-out-is-netlist", "path", ["simulate", "--netlist", "files/netlist/empty.cir", "--out", "files/netlist/empty.cir"],
                  precious=["files/netlist/empty.cir"])
        self.case("path-sample-out-of-range", "path", ["compare", "--config", "files/c.yaml", "--model", "files/m.npz", "--input", "files/x.npy",
                                                       "--labels", "files/y.npy", "--sample", "99", "--out", "{out}/cmp"])

    def build(self):
        self.configs()
        self.npys()
        self.npzs()
        self.idxs()
        self.netlists()
        self.paths()
        return self.cases


# ---------- running ----------

def fingerprint(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return ("file", hashlib.sha256(f.read()).hexdigest())
    return (stat.S_IFMT(st.st_mode), st.st_rdev)


def run_case(binary, root, case):
    out = os.path.join(root, case["out"])
    os.makedirs(out, exist_ok=True)
    before = {p: fingerprint(os.path.join(root, p) if not p.startswith("/") else p) for p in case["precious"]}
    limit = case["memory"]

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = dict(os.environ)
    try:
        p = subprocess.run([binary] + case["args"], cwd=root, capture_output=True, timeout=TIMEOUT, preexec_fn=limits,
                           env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return "hang", "no answer within %d s" % TIMEOUT
    stderr = p.stderr.decode("utf-8", "replace")
    stdout = p.stdout.decode("utf-8", "replace")
    errors = [l for l in stderr.splitlines() + stdout.splitlines() if l.startswith("error:") or l.startswith("Error:")]
    left = []
    for dirpath, dirs, files in os.walk(out):
        left += [os.path.relpath(os.path.join(dirpath, f), root) for f in files] + [os.path.relpath(os.path.join(dirpath, d), root) for d in dirs]
    changed = [p_ for p_, fp in before.items() if fingerprint(os.path.join(root, p_) if not p_.startswith("/") else p_) != fp]
    if p.returncode < 0 or p.returncode >= 128 or "Fatal error" in stderr or "Stack dump" in stderr:
        return "crash", "status %d: %s" % (p.returncode, stderr.strip()[-400:])
    if p.returncode == 0:
        return "accepted", "exit 0: %s" % (stdout.strip()[-200:])
    if left or changed:
        return "partial output", "left %s, changed %s" % (left, changed)
    if len(errors) != 1:
        return "unclear error", "%d error lines: %s" % (len(errors), (stderr + stdout).strip()[-400:])
    if case["expect"] and case["expect"] not in errors[0]:
        return "unclear error", "error line lacks %r: %s" % (case["expect"], errors[0])
    return "clear error", errors[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--keep", help="build the corpus in this directory and keep it")
    ap.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--only", default="")
    ap.add_argument("--verbose", action="store_true", help="print every case's error line")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="dfcspice-hostile-")
    if args.keep and os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    try:
        cases = [c for c in Corpus(root).build() if args.only in c["name"]]
        counts = {}
        failures = []
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda c: (c, run_case(binary, root, c)), cases))
        formats = {}
        for case, (verdict, detail) in results:
            counts[verdict] = counts.get(verdict, 0) + 1
            formats.setdefault(case["format"], {}).setdefault(verdict, 0)
            formats[case["format"]][verdict] += 1
            if verdict != "clear error":
                failures.append("FAIL %s [%s]: %s" % (case["name"], verdict, detail))
            elif args.verbose:
                print("ok   %s: %s" % (case["name"], detail))
        for f in failures:
            print(f)
        for fmt in sorted(formats):
            print("%-8s %s" % (fmt, ", ".join("%s %d" % kv for kv in sorted(formats[fmt].items()))))
        keys = ["clear error", "crash", "hang", "partial output", "accepted", "unclear error"]
        print("hostile corpus: %d tried, %s" % (len(cases), ", ".join("%d %s" % (counts.get(k, 0), k) for k in keys)))
        return 0 if not failures and cases else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
