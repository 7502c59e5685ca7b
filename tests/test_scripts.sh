#!/usr/bin/env bash
# The user-facing scripts on a tiny scenario: scripts/sweep (tidy CSV, resumable, interrupted points
# redone, failed points reported, spread as tasks with --plan/--task/--gather), scripts/plot (a sweep in which no run reached its target) and the
# input errors of plot, plot-drift, gather-sweep, reproduce, profile-sweep and faults; plot of a run;
# bench-scale at 5 and 10 sites and its chart
# (cost against time when priced, convergence with outages shaded).
# usage: tests/test_scripts.sh GEOSIM_BINARY   (run from the source tree; ctest does)
set -uo pipefail
export GEOSIM="$1"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SCENARIO="$ROOT/tests/data/ps-small.json"
failures=0
check() { # check DESCRIPTION COMMAND...: one line per check, and remember failures
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}
column() { # column CSV NAME: that column's values, one a line, header dropped
  python3 -c 'import csv,sys; [print(r[sys.argv[2]]) for r in csv.DictReader(open(sys.argv[1]))]' "$1" "$2"
}

sweep() { "$ROOT/scripts/sweep" "$SCENARIO" --mbps 1,100 -j 2 -o "$WORK/sw" "$@" 2> "$WORK/sweep.err"; }

# A first sweep: one row per point, and a slower WAN gives a longer run that moves the same bytes.
sweep
check "sweep exits 0" test $? -eq 0
check "sweep.csv has one row per point" test "$(column "$WORK/sw/sweep.csv" value | wc -l)" -eq 2
times=($(column "$WORK/sw/sweep.csv" sim_time_s))
bytes=($(column "$WORK/sw/sweep.csv" wan_bytes))
check "1 Mb/s takes longer than 100 Mb/s" python3 -c "import sys; sys.exit(not ${times[0]} > ${times[1]})"
check "WAN bytes do not depend on the bandwidth" test "${bytes[0]}" = "${bytes[1]}"

# Resumable: a second sweep runs nothing and leaves the points as they were.
point="$WORK/sw/points/wan_bandwidth_mbps=1_seed=1_param_server"
before=$(stat -c %y "$point/param_server/summary.json")
sweep
check "a rerun skips finished points" grep -q "2 already done, running 0" "$WORK/sweep.err"
check "a rerun leaves finished points alone" \
  test "$(stat -c %y "$point/param_server/summary.json")" = "$before"

# An interrupted point (only its scratch folder is left) is redone, and nothing else.
mv "$point" "$WORK/sw/points/.wan_bandwidth_mbps=1_seed=1_param_server"
sweep
check "an interrupted point is redone" grep -q "1 already done, running 1" "$WORK/sweep.err"
check "the redone point is back in sweep.csv" test "$(column "$WORK/sw/sweep.csv" value | wc -l)" -eq 2

# Spread over machines: --plan counts the tasks, each --task K runs one point (here two at once through
# xargs, as a SLURM array or GNU parallel would start them), --gather makes the same tables as one sweep.
spread() { "$ROOT/scripts/sweep" "$SCENARIO" --mbps 1,100 -o "$WORK/$1" "${@:2}"; }
tasks=$(spread arr --plan 2> "$WORK/plan.err")
check "--plan prints the number of tasks" test "$tasks" = 2
check "--plan runs nothing" test -z "$(ls "$WORK/arr/points")"
spread arr --gather 2> "$WORK/gather-early.err"
check "--gather before the tasks ran exits 1" test $? -eq 1
check "--gather says how many points are missing" grep -q "2 of 2 points not run yet" "$WORK/gather-early.err"
seq "$tasks" | xargs -P 2 -I{} "$ROOT/scripts/sweep" "$SCENARIO" --mbps 1,100 -o "$WORK/arr" --task {} 2> /dev/null
check "every task ran its point" test "$(ls "$WORK/arr/points" | wc -l)" -eq 2
SLURM_ARRAY_TASK_ID=1 bash -c 'spread() { "$0" "$1" --mbps 1,100 -o "$2" --task "$SLURM_ARRAY_TASK_ID"; }; spread "$@"' \
  "$ROOT/scripts/sweep" "$SCENARIO" "$WORK/arr" 2> "$WORK/task-again.err"
check "a task whose point is done skips it" grep -q "point 1 (.*) already done" "$WORK/task-again.err"
spread arr --gather 2> /dev/null
check "--gather after the tasks exits 0" test $? -eq 0
check "the spread sweep's table is the local sweep's" cmp -s "$WORK/arr/sweep.csv" "$WORK/sw/sweep.csv"
check "the spread sweep's curves are the local sweep's" cmp -s "$WORK/arr/convergence.csv" "$WORK/sw/convergence.csv"
spread arr --task 3 2> "$WORK/task-range.err"
check "a task number past the plan exits 2" test $? -eq 2
check "a task number past the plan names the range" grep -q -- "--task 3: expected a point number from 1 to 2" \
  "$WORK/task-range.err"
if command -v parallel > /dev/null; then
  seq "$tasks" | parallel --will-cite -j 2 "$ROOT/scripts/sweep" "$SCENARIO" --mbps 1,100 -o "$WORK/gnu" --task {} \
    2> /dev/null
  spread gnu --gather 2> /dev/null
  check "GNU parallel runs the tasks into the same table" cmp -s "$WORK/gnu/sweep.csv" "$WORK/sw/sweep.csv"
else
  echo "skipped: GNU parallel is not installed (apt-get install parallel)"
fi

# A point that fails is named with geosim's one-line error, and the sweep exits non-zero.
"$ROOT/scripts/sweep" "$SCENARIO" --mbps 1,100 -o "$WORK/bad" --set strategy.lr=-1 2> "$WORK/bad.err"
check "a failing point makes the sweep exit 1" test $? -eq 1
check "a failing point is named with geosim's error" grep -q "FAILED .*strategy.lr: expected a number > 0" "$WORK/bad.err"
# The user's clone has only the repository: no document links outside it (../shared was one).
check "README and docs link nothing outside the repository" \
  bash -c "! grep -rnE '\]\(\.\./|\.\./shared' '$ROOT/README.md' '$ROOT/docs' '$ROOT/results/README.md'"

# A --set value keeps its spaces (it was split into words, and every point failed on the second one).
"$ROOT/scripts/sweep" "$SCENARIO" --mbps 100 -o "$WORK/spaces" --set 'description=two words' 2> "$WORK/spaces.err"
check "a --set value with spaces reaches every point" test $? -eq 0
"$ROOT/scripts/sweep" "$SCENARIO" --bogus 1 2> "$WORK/opt.err"
check "an unknown option exits 2" test $? -eq 2
check "an unknown option is named" grep -q "sweep: unknown option --bogus" "$WORK/opt.err"

# Plot: no run of this sweep has a target to reach; the plots are still drawn.
"$ROOT/scripts/plot" "$WORK/sw" -o "$WORK/plots" 2> "$WORK/plot.err"
check "plot draws a sweep in which no run reached its target" test $? -eq 0
for png in time_to_target outcome convergence_time convergence_bytes; do
  check "plot writes $png.png" test -s "$WORK/plots/$png.png"
done
"$ROOT/scripts/plot" "$WORK/nothing" 2> "$WORK/plot-missing.err"
check "plot of a missing sweep exits non-zero" test $? -ne 0
check "plot of a missing sweep says to run the sweep" grep -q "run scripts/sweep first" "$WORK/plot-missing.err"

# Plot of one run with several strategies: its cost against its time, or one line when it has no prices.
mkdir -p "$WORK/cmp"
cat > "$WORK/cmp/comparison.json" <<'JSON'
{"scenario": "s", "network_model": "CM02", "seed": 1, "reference": "a", "strategies": [
 {"label": "a", "reached_target": true, "time_to_target_s": 2, "sim_time_s": 3, "cost_usd": 0.5, "sovereignty": "complies"},
 {"label": "b", "reached_target": false, "time_to_target_s": null, "sim_time_s": 9, "cost_usd": 2, "sovereignty": "violates"}]}
JSON
"$ROOT/scripts/plot" "$WORK/cmp" -o "$WORK/cmp-plots" 2> "$WORK/cmp.err"
check "plot draws a priced run's cost against its time" test -s "$WORK/cmp-plots/cost_vs_time.png"
sed -i 's/"cost_usd": [0-9.]*/"cost_usd": null/g' "$WORK/cmp/comparison.json"
"$ROOT/scripts/plot" "$WORK/cmp" -o "$WORK/cmp-plots" 2> "$WORK/cmp-none.err"
check "plot of an unpriced run exits non-zero" test $? -ne 0
check "plot of an unpriced run says so in one line" test "$(wc -l < "$WORK/cmp-none.err")" -eq 1
# ... and with a strategy's convergence.csv (and outages in its summary), its curve with the outages shaded.
mkdir -p "$WORK/cmp/a"
printf 'sim_time,strategy,site,iteration,loss,accuracy,wan_bytes,lan_bytes,compute_core_s\n0,a,global,0,1,,0,0,0\n5,a,global,1,0.5,,0,0,0\n' \
  > "$WORK/cmp/a/convergence.csv"
echo '{"faults": {"seed": 1, "outages_by_link": {"wan-x-y": {"outages": 1, "down_s": 1, "intervals": [[1, 2]]}},
  "failures_by_site": {"x": {"failures": 1, "down_s": 1, "intervals": [[3, 4]]}}, "lost_messages": 2}}' \
  > "$WORK/cmp/a/summary.json"
"$ROOT/scripts/plot" "$WORK/cmp" -o "$WORK/cmp-conv" 2> "$WORK/cmp-conv.err"
check "plot draws a run's convergence with its outages and crashes" test -s "$WORK/cmp-conv/convergence_time.png"
"$ROOT/scripts/faults" --build "$WORK/nothing" 2> "$WORK/faults.err"
check "faults without a build exits non-zero" test $? -ne 0
check "faults without a build says so in one line" test "$(wc -l < "$WORK/faults.err")" -eq 1

"$ROOT/scripts/plot-drift" "$WORK/nothing" -o "$WORK/plots" 2> "$WORK/drift.err"
check "plot-drift of a missing run exits non-zero" test $? -ne 0
check "plot-drift of a missing run says so in one line" test "$(wc -l < "$WORK/drift.err")" -eq 1
"$ROOT/scripts/gather-sweep" "$WORK/nothing" 2> "$WORK/gather.err"
check "gather-sweep of a non-sweep folder exits non-zero" test $? -ne 0
check "gather-sweep of a non-sweep folder says so in one line" test "$(wc -l < "$WORK/gather.err")" -eq 1

# Reproduce: bad input stops before any run.
"$ROOT/scripts/reproduce" --only no-such-row --build "$(dirname "$GEOSIM")" --results "$WORK/rep" 2> "$WORK/rep.err"
check "reproduce --only with an unknown id exits non-zero" test $? -ne 0
check "reproduce names the unknown id" grep -q "unknown row id(s) no-such-row" "$WORK/rep.err"
"$ROOT/scripts/reproduce" --build "$WORK/nowhere" --results "$WORK/rep" 2> "$WORK/rep2.err"
check "reproduce without a build says to build first" grep -q "not found; build first" "$WORK/rep2.err"
"$ROOT/scripts/profile-sweep" --vary stop.converged.change 0.01 --scenario "$WORK/none.json" -o "$WORK/ps" \
  2> "$WORK/ps.err"
check "profile-sweep of a missing scenario exits non-zero" test $? -ne 0
check "profile-sweep names the missing scenario in one line" grep -q "none.json: no such scenario file" "$WORK/ps.err"
"$ROOT/scripts/profile-sweep" --vary workload.model.hidden '[20],[85]' --vary scale_model 425 \
  --scenario "$ROOT/scenarios/gaia-ic.json" -o "$WORK/ps2" 2> "$WORK/ps2.err"
check "profile-sweep with knobs of unequal lengths exits non-zero" test $? -ne 0
check "profile-sweep says every knob needs as many values" grep -q "every --vary needs as many values as the first" "$WORK/ps2.err"
check "profile-sweep refused before running anything" test ! -e "$WORK/ps2"

# The scaling benchmark, at a size a test affords: one row per strategy and site count, and its errors.
"$ROOT/scripts/bench-scale" --sites 5,10 --rounds 3 --strategies fedavg-0.1,cartel --build "$(dirname "$GEOSIM")" \
  -o "$WORK/bench/scale.csv" > "$WORK/bench.out" 2> "$WORK/bench.err"
check "bench-scale runs" test $? -eq 0
check "bench-scale writes a row per strategy and site count" test "$(wc -l < "$WORK/bench/scale.csv")" -eq 5
check "bench-scale's rows name the strategy, the sites and the rounds" grep -q "^cartel,10,3," "$WORK/bench/scale.csv"
check "bench-scale fits an exponent per strategy" grep -q "fedavg-0.1: wall time grows as (sites x rounds)^" "$WORK/bench.out"
"$ROOT/scripts/plot" "$WORK/bench" -o "$WORK/bench-plot" 2> /dev/null
check "plot charts the benchmark's folder" test -s "$WORK/bench-plot/scale.png"
mkdir -p "$WORK/bench-failed" && head -1 "$WORK/bench/scale.csv" > "$WORK/bench-failed/scale.csv" &&
  echo "cartel,10,3,nan,nan,nan,nan,,2,build,x86_64,aborted" >> "$WORK/bench-failed/scale.csv"
"$ROOT/scripts/plot" "$WORK/bench-failed" -o "$WORK/bench-failed-plot" 2> "$WORK/bench-failed.err"
check "plot of a benchmark whose runs all failed exits non-zero" test $? -ne 0
check "plot of a benchmark whose runs all failed says so" grep -q "every run failed" "$WORK/bench-failed.err"
"$ROOT/scripts/bench-scale" --strategies gossip --build "$(dirname "$GEOSIM")" -o "$WORK/bench2.csv" 2> "$WORK/bench2.err"
check "bench-scale refuses an unknown strategy" grep -q "unknown strategy gossip" "$WORK/bench2.err"
check "bench-scale writes nothing when refused" test ! -e "$WORK/bench2.csv"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
