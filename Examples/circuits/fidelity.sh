#!/usr/bin/env bash
# Circuit against ideal for each circuit option alone and the realistic combination:
#   Examples/circuits/fidelity.sh [DFCSPICE]  ->  a Markdown table on stdout
#   FIDELITY_ROWS='BSIM4|stages' Examples/circuits/fidelity.sh   (only the rows whose label matches)
# Sample 0 of the student–teacher net (Examples/student-teacher.yaml, model from its seed, one
# teacher sample of input seed 1). Each row runs `dfcspice compare` twice: against the ideal
# solver with the requested weights (a), and (b) with the weights the devices realise and, for
# transistor activations, the pair's transfer curve from an ngspice DC sweep as φ. It gives the
# worst trace RMS over range, the final u (relative), the ΔW angle per layer, the netlist's size,
# and the seconds of the whole compare (ngspice and the ideal solver, release build).
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
echo "| option | worst trace RMS / range | final u (rel.) | ΔW angles vs ideal (a) | ΔW angles vs (b) | verdicts | netlist elements, KiB | compare s |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r label overlay bargs <<< "$row"
  # FIDELITY_ROWS=REGEX runs only the rows whose label matches.
  if [ -n "${FIDELITY_ROWS:-}" ] && ! [[ "$label" =~ $FIDELITY_ROWS ]]; then continue; fi
  config="$dir/c.yaml"
  if [ "$overlay" = realistic ]; then cp Examples/circuits/student-teacher-realistic.yaml "$config"
  else { cat "$base"; echo "circuit: $overlay"; } > "$config"; fi
  wrote="$("$bin" netlist --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/c.cir")"
  elements="$(echo "$wrote" | sed -E 's/.*: ([0-9]+) elements.*/\1/')"
  kib=$(( $(stat -c %s "$dir/c.cir") / 1024 ))
  a="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/a" | sed -n 1p)"
  # shellcheck disable=SC2086  # the (b) options are words
  b="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/b" $bargs | sed -n 1p)"
  rms="$(echo "$a" | sed -E 's/.*worst trace RMS ([^ ]+) of range \(([^)]*)\).*/\1 (\2)/')"
  u="$(echo "$a" | sed -E 's/.*final u ([^,]+),.*/\1/')"
  angles_a="$(echo "$a" | sed -E 's/.*ΔW angles ([^°]*)°.*/\1/')"
  angles_b="$(echo "$b" | sed -E 's/.*ΔW angles ([^°]*)°.*/\1/')"
  verdicts="$(echo "$a" | sed -E 's/.*verdicts ([^;]*);.*/\1/')"
  seconds="$(echo "$a" | sed -E 's/.*; ([0-9.]+) s$/\1/')"
  echo "| $label | $rms | $u | $angles_a | $angles_b ($bargs) | $verdicts | $elements, $kib | $seconds |"
done
