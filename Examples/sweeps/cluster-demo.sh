#!/usr/bin/env bash
# The figures of docs/results.md, "Beyond one machine": one Monte Carlo sweep run here and on a
# one-node Slurm cluster started for the purpose, and one sharded SPICE evaluation.
#   Examples/sweeps/cluster-demo.sh [DFCSPICE]        (as root; needs slurm-wlm and munge)
# It trains st-4-3-2 (ideal, 10 epochs), sweeps 32 device seeds × 4 programming-noise levels
# of `evaluate` locally (2 workers) and on the cluster (8 array tasks of 16 points), checks
# that the collected tables are the same, and evaluates the test set on the SPICE circuit
# whole and in 4 shards on the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(realpath "${1:-.build/release/dfcspice}")"
dir="$(mktemp -d)"
cluster="$dir/cluster"
trap 'scripts/slurm-test-cluster.sh stop "$cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
eval "$(scripts/slurm-test-cluster.sh start "$cluster")"
secs() { local t0=$1; echo "$(( $(date +%s%N) - t0 ))" | awk '{printf "%.1f", $1/1e9}'; }

cp Examples/sweeps/st-4-3-2-6bit.yaml "$dir/st.yaml"
"$bin" train --config "$dir/st.yaml" --out "$dir/run" >/dev/null 2>&1
sed -e "s|base: st-4-3-2-6bit.yaml|base: st.yaml|" -e "s|../../runs/st/model.npz|run/model.npz|" \
  Examples/sweeps/noise-mc.yaml > "$dir/mc.yaml"
"$bin" sweep plan "$dir/mc.yaml" --out "$dir/L" >/dev/null
"$bin" sweep plan "$dir/mc.yaml" --out "$dir/S" >/dev/null
t=$(date +%s%N); "$bin" sweep run "$dir/L" --workers 2 >/dev/null 2>&1; local_s=$(secs "$t")
t=$(date +%s%N); "$bin" sweep run "$dir/S" --engine slurm --points-per-task 16 --max-concurrent 2 --wait >/dev/null; slurm_s=$(secs "$t")
"$bin" sweep collect "$dir/L" >/dev/null
"$bin" sweep collect "$dir/S" >/dev/null
same=$(cmp -s "$dir/L/collect/points.csv" "$dir/S/collect/points.csv" && cmp -s "$dir/L/collect/summary.csv" "$dir/S/collect/summary.csv" && echo identical || echo DIFFERENT)
echo "Monte Carlo sweep, 128 points of evaluate (32 device seeds x 4 noise levels): here, 2 workers: ${local_s} s; Slurm, 8 array tasks of 16 points, 2 at once: ${slurm_s} s; collected tables ${same}"
sed -n '5,$p' "$dir/L/collect/summary.md"

common=(evaluate --config "$dir/st.yaml" --model "$dir/run/model.npz" --data student-teacher --backend spice)
t=$(date +%s%N); "$bin" "${common[@]}" --workers 2 --out "$dir/whole.json" >/dev/null; whole_s=$(secs "$t")
t=$(date +%s%N); "$bin" "${common[@]}" --shards 4 --engine slurm --out "$dir/sharded.json" >/dev/null 2>&1; shard_s=$(secs "$t")
python3 - "$dir/whole.json" "$dir/sharded.json" "$whole_s" "$shard_s" <<'EOF'
import json, sys
a, b = (json.load(open(p))["evaluation"] for p in sys.argv[1:3])
n = len(a["losses"])
print(f"SPICE evaluation of the {n}-sample test set: whole, 2 workers here: {sys.argv[3]} s; 4 shards on Slurm: {sys.argv[4]} s; "
      f"merged shards {'identical to' if a == b else 'DIFFERENT from'} the whole (mean loss {sum(a['losses']) / n:.6g})")
EOF
