#!/usr/bin/env bash
# Resumable runs (issue 18): a run with --checkpoint-dir is killed with SIGKILL part-way, resumed with --resume,
# and its final --json line must equal an uninterrupted run's bit for bit (the wall-clock "seconds" field and the measured evaluation time and memory
# and load-average fields aside); units that had finished before the kill (hopfield-mil and hopfield-repertoire
# folds, hopfield-uci members) are not computed again (their files keep their inode: nothing rewrote them). A foreign or damaged checkpoint directory gives
# a one-line error. Registered with ctest (label "programs") when the examples are built.
#   tests/program_resume.sh <folder with the built programs>
. "$(dirname "$0")/programs_common.sh"

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# The last stdout line without the wall-clock time and the machine's load.
result() { tail -n 1 "$1" | sed -E 's/"seconds":[0-9.eE+-]+,?//; s/"load_average_(start|end)":"[^"]*",?//g; s/"(eval_seconds_per_repertoire|eval_peak_rss_mb|eval_start_rss_mb|peak_rss_mb)":[0-9.eE+-]+,?//g'; }

# kill_resume <name> <unit glob> <program> <args...>: uninterrupted run, then a checkpointed one killed after
# its first finished unit, then --resume; compares the results.
kill_resume() {
  local name=$1 glob=$2 prog=$3
  shift 3
  cases=$((cases + 1))
  local ck="$tmp/$name.ck"
  "$bin/$prog" "$@" --json >"$tmp/$name.full" 2>/dev/null </dev/null || { fail "$name: uninterrupted run failed"; return; }
  "$bin/$prog" "$@" --json --checkpoint-dir "$ck" >/dev/null 2>&1 </dev/null &
  local pid=$! waited=0
  until compgen -G "$ck/$glob" >/dev/null || ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 1200 ]; do
    sleep 0.05
    waited=$((waited + 1))
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local done_before
  done_before=$(compgen -G "$ck/$glob" | wc -l)
  local total_after_full
  [ "$done_before" -ge 1 ] || { fail "$name: no unit had finished when the run was killed"; return; }
  local inodes_before
  inodes_before=$(for f in $(compgen -G "$ck/$glob" | sort); do stat -c "%n %i" "$f"; done)
  "$bin/$prog" "$@" --json --checkpoint-dir "$ck" --resume >"$tmp/$name.resumed" 2>"$tmp/$name.err" </dev/null ||
    { fail "$name: resume failed: $(tail -n 1 "$tmp/$name.err")"; return; }
  total_after_full=$(compgen -G "$ck/$glob" | wc -l)
  [ "$done_before" -lt "$total_after_full" ] || fail "$name: every unit had finished before the kill ($done_before)"
  local inodes_after
  inodes_after=$(for f in $(echo "$inodes_before" | cut -d' ' -f1); do stat -c "%n %i" "$f"; done)
  [ "$inodes_before" = "$inodes_after" ] || fail "$name: units finished before the kill were written again"
  local a b
  a=$(result "$tmp/$name.full")
  b=$(result "$tmp/$name.resumed")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$name: resumed result differs:
    uninterrupted: $a
    resumed:       $b"
  echo "$name: killed after $done_before of $total_after_full units, resumed result identical"
}

# expect_one_line_error <name> <text> <program> <args...>
expect_one_line_error() {
  local name=$1 text=$2 prog=$3
  shift 3
  cases=$((cases + 1))
  local rc=0
  "$bin/$prog" "$@" >"$tmp/err.out" 2>"$tmp/err.err" </dev/null || rc=$?
  [ "$rc" -ne 0 ] || { fail "$name: exit 0"; return; }
  [ "$(wc -l <"$tmp/err.err")" -eq 1 ] || fail "$name: stderr is not one line: $(head -c 300 "$tmp/err.err")"
  grep -q -- "$text" "$tmp/err.err" || fail "$name: error does not mention '$text': $(head -c 300 "$tmp/err.err")"
}

mil_args=(--synthetic-bags 40 --folds 4 --epochs 12 --patience 12 --ensemble 2 --threads 1)
kill_resume mil "fold_*.json" hopfield-mil "${mil_args[@]}"
# Without early stopping the folds' validation columns are NaN, saved as null: a resumed run must read them.
mil_noes_args=(--synthetic-bags 40 --folds 4 --epochs 12 --no-early-stopping --ensemble 2 --threads 1)
kill_resume mil_no_early_stopping "fold_*.json" hopfield-mil "${mil_noes_args[@]}"

# Two tiny datasets in the uci121 layout (make_uci in programs_common.sh), run with --all.
make_uci "$tmp/uci/tiny" 48
make_uci "$tmp/uci/small" 48 1
uci_args=(--all "$tmp/uci" --grid-model prototypes memory retrieval --grid-bins 0 --grid-dropout 0 --epochs 6
          --threads 1 --csv "$tmp/uci_results.csv")
kill_resume uci "*.member*.json" hopfield-uci "${uci_args[@]}"

# hopfield-repertoire on generated repertoires: folds are the units.
rep_args=(--synthetic-repertoires 24 --folds 3 --epochs 3 --warmup-epochs 1 --subsample 60 --threads 1)
kill_resume repertoire "fold_*.json" hopfield-repertoire "${rep_args[@]}"

# A checkpoint directory of another run, of another program, or with a damaged unit: one line, non-zero exit.
expect_one_line_error mil-foreign "holds a different run" hopfield-mil "${mil_args[@]}" --seed 2 \
  --checkpoint-dir "$tmp/mil.ck" --resume
expect_one_line_error uci-on-mil "holds a different run" hopfield-uci "${uci_args[@]}" --checkpoint-dir "$tmp/mil.ck" --resume
expect_one_line_error mil-no-resume "pass --resume" hopfield-mil "${mil_args[@]}" --checkpoint-dir "$tmp/mil.ck"
f=$(compgen -G "$tmp/mil.ck/fold_*.json" | head -n 1)
head -c 20 "$f" >"$f.cut" && mv "$f.cut" "$f"
expect_one_line_error mil-damaged "$(basename "$f") is" hopfield-mil "${mil_args[@]}" --checkpoint-dir "$tmp/mil.ck" --resume
expect_one_line_error repertoire-foreign "holds a different run" hopfield-repertoire "${rep_args[@]}" --seed 2 \
  --checkpoint-dir "$tmp/repertoire.ck" --resume
expect_one_line_error repertoire-on-mil "holds a different run" hopfield-repertoire "${rep_args[@]}" \
  --checkpoint-dir "$tmp/mil.ck" --resume
f=$(compgen -G "$tmp/repertoire.ck/fold_*.json" | head -n 1)
head -c 30 "$f" >"$f.cut" && mv "$f.cut" "$f"
expect_one_line_error repertoire-damaged "$(basename "$f") is" hopfield-repertoire "${rep_args[@]}" \
  --checkpoint-dir "$tmp/repertoire.ck" --resume
mkdir -p "$tmp/notes" && echo x >"$tmp/notes/notes.txt"
expect_one_line_error mil-not-a-checkpoint "not a checkpoint directory" hopfield-mil "${mil_args[@]}" \
  --checkpoint-dir "$tmp/notes" --resume

echo "program_resume: $cases cases, $failures failed"
[ "$failures" -eq 0 ]
