#!/usr/bin/env bash
# Circuit against ideal for each circuit option alone and the realistic combination:
#   Examples/circuits/fidelity.sh [DFCSPICE]  ->  a Markdown table on stdout
#   FIDELITY_ROWS='BSIM4|stages' Examples/circuits/fidelity.sh   (only the rows whose label matches)
#   FIDELITY_MODE=behavioral Examples/circuits/fidelity.sh        (the behavioral backend against the circuit)
# Sample 0 of the student–teacher net (Examples/student-teacher.yaml, model from its seed, one
# teacher sample of input seed 1). Each row runs `dfcspice compare` twice: against the ideal
# solver with the requested weights (a), and (b) with the weights the devices realise and, for
# transistor activations, the pair's transfer curve from an ngspice DC sweep as φ. It gives the
# worst trace RMS over range, the final u (relative), the ΔW angle per layer, the netlist's size,
# and the seconds of the whole compare (ngspice and the ideal solver, release build).
# With FIDELITY_MODE=behavioral each row runs `compare --reference behavioral --ideal-refine 4`
# instead (the behavioral run at dt/4, so that its Euler error does not count).
#   FIDELITY_TIME_LIMIT=3000 Examples/circuits/fidelity.sh      (seconds per ngspice run; compare's default 600)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-.build/release/dfcspice}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
base=Examples/student-teacher.yaml
"$bin" init --config "$base" --out "$dir/m.npz" >/dev/null
"$bin" teacher --config "$base" --samples 1 --seed 1 --inputs-out "$dir/x.npy" --labels-out "$dir/y.npy" >/dev/null
limit="--time-limit ${FIDELITY_TIME_LIMIT:-600}"
realised="--ideal-weights realised"
measured="--ideal-weights realised --ideal-phi circuit"
# label | circuit section appended to the base config | the (b) run's options
rows=(
  "ideal circuit (VCVS op-amps, equation tanh)|{}|$realised"
  "op-amp macromodel (A 1e5, GBW 10 MHz, SR 10 V/us, +/-12 V)|{opamp: {model: macromodel, gain: 1.0e5, gbw: 1.0e7, slewRate: 1.0e7, swing: 12}}|$realised"
  "  + input offsets sigma 1 uV|{opamp: {model: macromodel, gain: 1.0e5, gbw: 1.0e7, slewRate: 1.0e7, swing: 12, offsetSigma: 1.0e-6}}|$realised"
  "  + input offsets sigma 10 uV|{opamp: {model: macromodel, gain: 1.0e5, gbw: 1.0e7, slewRate: 1.0e7, swing: 12, offsetSigma: 1.0e-5}}|$realised"
  "two-stage CMOS op-amps (transistors, 500 uA output stage)|{opamp: {model: cmos-two-stage}}|$realised"
  "tanh from a BJT pair, 27 C|{activation: {model: bjt-pair}}|$measured"
  "tanh from a BJT pair, 60 C|{activation: {model: bjt-pair}, temperature: 60}|$measured"
  "tanh-like MOS pair (level 1)|{activation: {model: mos-pair}}|$measured"
  "MOS pair in BSIM4 (PTM 45 nm), 27 C|{activation: {model: mos-pair-bsim4}}|$measured"
  "MOS pair in BSIM4 (PTM 45 nm), 85 C|{activation: {model: mos-pair-bsim4}, temperature: 85}|$measured"
  "BJT pair with circuit stages (resistor reference, divider, op-amp output)|{activation: {model: bjt-pair, stages: circuit}}|$measured"
  "  + macromodel op-amps everywhere, offsets sigma 1 uV|{activation: {model: bjt-pair, stages: circuit}, opamp: {model: macromodel, gain: 1.0e5, gbw: 1.0e7, slewRate: 1.0e7, swing: 12, offsetSigma: 1.0e-6}}|$measured"
  "wires 1 Ohm per segment, 10 Ohm driver and TIA|{wire: {rowResistance: 1, columnResistance: 1, driverResistance: 10, tiaResistance: 10}}|$realised"
  "6 bits, 2 % programming noise|{device: {bits: 6, programmingNoise: 0.02}}|$realised"
  "device-to-device variation 5 %|{device: {deviceVariation: 0.05}}|$realised"
  "read noise 1 % white|{device: {readNoise: 0.01}}|$realised"
  "read noise 2 % 1/f|{device: {readNoise1f: 0.02}}|$realised"
  "sinh I-V, V0 = 0.25 V|{device: {nonlinearityVoltage: 0.25}}|$realised"
  "drift, 1 day (nu 0.06 +/- 0.023)|{device: {driftTime: 86400, driftNu: 0.06, driftNuSpread: 0.023}}|$realised"
  "8-bit input DAC, r_L ADC, u DAC (range 3)|{converters: {input: {bits: 8, range: 3}, read: {bits: 8, range: 3}, write: {bits: 8, range: 3}}}|$realised"
  "PCM preset (read 1 h after programming)|{device: {preset: pcm}}|$realised"
  "ReRAM preset|{device: {preset: reram}}|$realised"
  "realistic (student-teacher-realistic.yaml)|realistic|$measured"
)
# The figures of compare's summary line $1: rms, u, angles, verdicts, seconds.
fields() {
  rms="$(echo "$1" | sed -E 's/.*worst trace RMS ([^ ]+) of range \(([^)]*)\).*/\1 (\2)/')"
  u="$(echo "$1" | sed -E 's/.*final u ([^,]+),.*/\1/')"
  angles="$(echo "$1" | sed -E 's/.*ΔW angles ([^°]*)°.*/\1/')"
  verdicts="$(echo "$1" | sed -E 's/.*verdicts ([^;]*);.*/\1/')"
  seconds="$(echo "$1" | sed -E 's/.*; ([0-9.]+) s$/\1/')"
}
behavioral="${FIDELITY_MODE:-}"
if [ "$behavioral" = behavioral ]; then
  echo "| option | worst trace RMS / range | final u (rel.) | ΔW angles, behavioral vs circuit | verdicts (behavioral/circuit) | compare s |"
  echo "|---|---|---|---|---|---|"
else
  echo "| option | worst trace RMS / range | final u (rel.) | ΔW angles vs ideal (a) | ΔW angles vs (b) | verdicts | netlist elements, KiB | compare s |"
  echo "|---|---|---|---|---|---|---|---|"
fi
for row in "${rows[@]}"; do
  IFS='|' read -r label overlay bargs <<< "$row"
  # FIDELITY_ROWS=REGEX runs only the rows whose label matches.
  if [ -n "${FIDELITY_ROWS:-}" ] && ! [[ "$label" =~ $FIDELITY_ROWS ]]; then continue; fi
  config="$dir/c.yaml"
  if [ "$overlay" = realistic ]; then cp Examples/circuits/student-teacher-realistic.yaml "$config"
  else { cat "$base"; echo "circuit: $overlay"; } > "$config"; fi
  if [ "$behavioral" = behavioral ]; then
    c="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/c" \
          --reference behavioral --ideal-refine 4 $limit | sed -n 1p)"
    fields "$c"
    echo "| $label | $rms | $u | $angles | $verdicts | $seconds |"
    continue
  fi
  wrote="$("$bin" netlist --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/c.cir")"
  elements="$(echo "$wrote" | sed -E 's/.*: ([0-9]+) elements.*/\1/')"
  kib=$(( $(stat -c %s "$dir/c.cir") / 1024 ))
  a="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/a" $limit | sed -n 1p)"
  # shellcheck disable=SC2086  # the (b) options are words
  b="$("$bin" compare --config "$config" --model "$dir/m.npz" --input "$dir/x.npy" --labels "$dir/y.npy" --out "$dir/b" $bargs $limit | sed -n 1p)"
  fields "$b"
  angles_b="$angles"
  fields "$a"
  echo "| $label | $rms | $u | $angles | $angles_b ($bargs) | $verdicts | $elements, $kib | $seconds |"
done
