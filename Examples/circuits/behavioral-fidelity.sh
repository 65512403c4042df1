#!/usr/bin/env bash
# The behavioral backend against the circuit, for each row of fidelity.sh (the same options):
#   Examples/circuits/behavioral-fidelity.sh [DFCSPICE]  ->  a Markdown table on stdout
#   FIDELITY_ROWS='wires|noise' Examples/circuits/behavioral-fidelity.sh   (only the matching rows)
# Sample 0 of the student–teacher net (Examples/student-teacher.yaml, model from its seed, one
# teacher sample of input seed 1): `dfcspice compare --reference behavioral --ideal-refine 4`
# (the behavioral run at dt/4, so its Euler error does not count); the seconds are the whole
# compare's, ngspice's transient included.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-.build/release/dfcspice}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
base=Examples/student-teacher.yaml
"$bin" init --config "$base" --out "$dir/m.npz" >/dev/null
"$bin" teacher --config "$base" --samples 1 --seed 1 --input "$dir/x.npy" --labels "$dir/y.npy" >/dev/null
# shellcheck source=fidelity-rows.sh
source Examples/circuits/fidelity-rows.sh
echo "| option | worst trace RMS / range | final u (rel.) | ΔW angles, behavioral vs circuit | verdicts (behavioral/circuit) | compare s |"
echo "|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r label overlay _ <<< "$row"
  if [ -n "${FIDELITY_ROWS:-}" ] && ! [[ "$label" =~ $FIDELITY_ROWS ]]; then continue; fi
  config="$dir/c.yaml"
  if [ "$overlay" = realistic ]; then cp Examples/circuits/student-teacher-realistic.yaml "$config"
  else { cat "$base"; echo "circuit: $overlay"; } > "$config"; fi
  c="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/c" \
        --reference behavioral --ideal-refine 4 | sed -n 1p)"
  rms="$(echo "$c" | sed -E 's/.*worst trace RMS ([^ ]+) of range \(([^)]*)\).*/\1 (\2)/')"
  u="$(echo "$c" | sed -E 's/.*final u ([^,]+),.*/\1/')"
  angles="$(echo "$c" | sed -E 's/.*ΔW angles ([^°]*)°.*/\1/')"
  verdicts="$(echo "$c" | sed -E 's/.*verdicts ([^;]*);.*/\1/')"
  seconds="$(echo "$c" | sed -E 's/.*; ([0-9.]+) s$/\1/')"
  echo "| $label | $rms | $u | $angles | $verdicts | $seconds |"
done
