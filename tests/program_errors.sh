#!/usr/bin/env bash
# Every program in examples/ must turn a bad argument or a bad data file into ONE line on stderr that starts
# with the program's name (and, for a data file, names the file and line), and a non-zero exit code: never a
# crash, a usage dump or a silent run. Registered with ctest (label "programs") when the examples are built.
#   tests/program_errors.sh <folder with the built programs>
. "$(dirname "$0")/programs_common.sh"

# expect_error <expected text in the message> <program> <args...>
expect_error() {
  local want=$1 prog=$2
  shift 2
  cases=$((cases + 1))
  local rc=0
  # A case that starts a real run instead of failing would take minutes: stop it (exit 124 counts as a failure).
  timeout 20 "$bin/$prog" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  local msg
  msg=$(head -c 400 "$tmp/err")
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ] || [ "$lines" -ne 1 ] || [[ "$msg" != "$prog: "* ]] || [[ "$msg" != *"$want"* ]]; then
    echo "FAIL: $prog $* -> exit $rc, $lines stderr line(s), expected one line '$prog: ...$want...':" >&2
    sed 's/^/    /' "$tmp/err" | head -5 >&2
    failures=$((failures + 1))
  fi
}

programs="hopfield-mil hopfield-uci hopfield-repertoire hopfield-bit-pattern hopfield-latch hopfield-data
          hopfield-energy hopfield-one-step hopfield-capacity hopfield-fixed-points hopfield-images"
for p in $programs; do
  expect_error "--no-such-option" "$p" --no-such-option
done

# Out-of-range and non-numeric option values, NaN included (CLI::Range alone lets "nan" through).
expect_error "--lr" hopfield-mil --lr 0
expect_error "--dropout" hopfield-mil --dropout nan
expect_error "--folds" hopfield-mil --folds 1
expect_error "--patience" hopfield-mil --no-early-stopping --patience 5
expect_error "--dropout" hopfield-uci --dropout nan
expect_error "--grid-lr" hopfield-uci --grid-lr 0.001 -1
expect_error "--data or --all" hopfield-uci
expect_error "--runs" hopfield-report
expect_error "--no-such-option" hopfield-report --runs "$tmp" --no-such-option
expect_error "$tmp/no_runs: no such run directory" hopfield-report --runs "$tmp/no_runs"
expect_error "--cohort-repertoires" hopfield-data --write-cohort "$tmp/cohort" --cohort-repertoires 1
expect_error "give only one of" hopfield-data --write-cohort "$tmp/cohort" --mil x.csv
expect_error "--keep" hopfield-repertoire --keep 2
expect_error "--lr" hopfield-repertoire --lr abc
expect_error "nope" hopfield-bit-pattern --variants hopfield,nope
expect_error "--adapted-dropout" hopfield-latch --adapted-dropout 1
expect_error "--adapted-scaling" hopfield-bit-pattern --adapted-scaling inf
expect_error "--flip" hopfield-capacity --flip nan
expect_error "--dims" hopfield-one-step --dims 0
expect_error "--beta" hopfield-images --beta -1

# Missing and malformed data files: the message names the file (and the line).
expect_error "$tmp/missing.csv" hopfield-mil --data "$tmp/missing.csv"
printf 'bag_id,label,f1,f2\n1,0,0.5,1\n1,0,0.25\n' >"$tmp/short_row.csv"
expect_error "short_row.csv: line 3" hopfield-mil --data "$tmp/short_row.csv"
printf 'bag_id,label,f1\n1,0,1\n2,1,nan\n' >"$tmp/nan.csv"
expect_error "nan.csv: line 3" hopfield-mil --data "$tmp/nan.csv"
expect_error "nan.csv: line 3" hopfield-data --mil "$tmp/nan.csv"
expect_error "$tmp/no_uci" hopfield-uci --data "$tmp/no_uci"
mkdir -p "$tmp/empty_uci"
expect_error "$tmp/empty_uci" hopfield-uci --all "$tmp/empty_uci"
expect_error "$tmp/no_reps" hopfield-repertoire --data "$tmp/no_reps"
mkdir -p "$tmp/reps/repertoires"
printf 'ID\tlabel\nr1.tsv\t1\nr2.tsv\n' >"$tmp/reps/metadata.tsv"
expect_error "metadata.tsv: line 3" hopfield-repertoire --data "$tmp/reps"

echo "program_errors: $cases cases, $failures failed"
[ "$failures" -eq 0 ]
