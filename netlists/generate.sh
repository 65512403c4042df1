#!/usr/bin/env bash
# Regenerates the example netlists: netlists/generate.sh [OUTDIR] [DFCSPICE]
# For each config in Examples/ named below: a model from the config's seed
# (dfcspice init), one student–teacher sample (dfcspice teacher, input seed 1),
# and the controlled-phase netlist of that sample (dfcspice netlist).
# The golden test runs this into a scratch directory and compares byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-netlists}"
bin="${2:-.build/release/dfcspice}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# sample CONFIG NAME: the model, the sample and the controlled-phase netlist NAME.cir.
sample() {
  local config="$1" name="$2"
  "$bin" init --config "$config" --out "$scratch/$name.npz" >/dev/null
  "$bin" teacher --config "$config" --samples 1 --seed 1 --inputs-out "$scratch/$name-x.npy" --labels-out "$scratch/$name-y.npy" >/dev/null
  "$bin" netlist --config "$config" --model "$scratch/$name.npz" --input "$scratch/$name-x.npy" \
    --labels "$scratch/$name-y.npy" --out "$out/$name.cir" >/dev/null
}
for name in single-neuron two-two-one student-teacher; do sample "Examples/$name.yaml" "$name"; done
# The 2-2-1 network once per circuit option (Examples/circuits/two-two-one-*.yaml).
for option in macromodel wires bjt-pair drift reram converters mos-pair mos-pair-bsim4 bjt-stages cmos; do sample "Examples/circuits/two-two-one-$option.yaml" "two-two-one-$option"; done
# The dynamic-inversion layer pair of the DI paper's 30-20-10 linear regression network.
"$bin" di-circuit --config Examples/dynamic-inversion/linear-regression.yaml --netlist-only --out "$scratch/di" >/dev/null
cp "$scratch/di/layer2.cir" "$out/di-linear-regression.cir"
# The model families as stand-alone .lib files.
mkdir -p "$out/models"
"$bin" models --out "$out/models" >/dev/null
