#!/usr/bin/env bash
# The integration tiers (every *ITCase and *ClusterIT) N times in a row while a busy loop per core competes for the CPU:
# a test whose precondition is left to timing fails here before it fails in CI. Needs a prior `mvn -DskipTests install`.
#   it/stress.sh [N=5]   → a line per run (pass/fail, seconds, ETA); logs in it/target/stress/run-K.log
set -uo pipefail
n=${1:-5}
cd "$(dirname "$0")/.."
mkdir -p it/target/stress
spinners=()
for _ in $(seq "$(nproc)"); do (while :; do :; done) & spinners+=($!); done
trap 'kill "${spinners[@]}" 2>/dev/null' EXIT
failed=0 total=0
for i in $(seq "$n"); do
  start=$(date +%s)
  mvn -B -o verify -pl cli,it -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false >"it/target/stress/run-$i.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start )); total=$(( total + secs ))
  [ "$rc" -eq 0 ] || failed=$(( failed + 1 ))
  # The modules' summary lines (the per-class ones end in "-- in <class>").
  tests=$(grep -E "Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$" "it/target/stress/run-$i.log" \
    | awk '{s+=$4} END {print s+0}')
  echo "run $i/$n: $([ "$rc" -eq 0 ] && echo pass || echo FAIL) ($tests tests, ${secs} s), ETA $(( total / i * (n - i) )) s"
done
echo "$((n - failed))/$n runs passed"
[ "$failed" -eq 0 ]
