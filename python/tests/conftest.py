import os
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
REPOSITORY = PACKAGE.parent
# The package as it is in the checkout, not an installed copy.
sys.path.insert(0, str(PACKAGE))


@pytest.fixture
def workspace(tmp_path):
    """A config, a model and a student–teacher batch, as the Swift CLI tests use."""
    import dfcspice
    config = tmp_path / "c.yaml"
    config.write_text("seed: 3\n"
                      "network: {sizes: [4, 5, 3], loss: mse, feedbackInit: weight-product}\n"
                      "dfc: {steps: 200, dt: 0.01, traceStride: 20}\n"
                      "feedback: {steps: 20}\n"
                      "training: {epochs: 3, trainSamples: 64, testSamples: 32, batchSize: 16, learningRate: 0.1}\n")
    model = tmp_path / "m.npz"
    arrays = dfcspice.init(config, model)
    x, y = dfcspice.teacher(config, samples=6)
    return {"dir": tmp_path, "config": config, "model": model, "arrays": arrays, "x": x, "y": y}
