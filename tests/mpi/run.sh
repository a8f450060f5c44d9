#!/usr/bin/env bash
# MPI tests (ctest label "mpi"), 2 ranks on this machine: loopback only (shared memory between the ranks,
# the launcher's own channel on lo), --oversubscribe (2 ranks may exceed the free cores), allowed as root.
#   tests/mpi/run.sh data_parallel|repertoire|resume|fault|programs MPIEXEC BIN_DIR [PROGRAMS_DIR]
#     data_parallel  20 data-parallel steps equal 20 single-process steps; ranks bit-identical every step
#     resume         a data-parallel run stopped after 2 epochs and resumed on another number of ranks ends
#                    with the uninterrupted run's parameters (float64, relative difference <= 1e-12)
#     fault          a rank that throws (HOPFIELD_FAULT_RANK/STEP) or dies (SIGKILL) ends the job within 30 s,
#                    with a line naming the rank
#     repertoire     RepertoireBatches data-parallel over each step's repertoires: the single process's run
#     programs       hopfield-mil and hopfield-uci (--data and --all) under mpirun: the single process's
#                    results, written once by rank 0 (tests/mpi/programs.sh)
set -uo pipefail
case_=${1:?case} mpiexec=${2:?mpiexec} bin=${3:?bin dir}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No network: shared memory (vader) and self between ranks, the runtime's TCP channel on loopback; no
# binding (the cores are shared with whatever else runs). OMPI_MCA_* so that nested launches see them too.
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OPENBLAS_NUM_THREADS=1
# The ASan build (CI's second pass, detect_leaks=1): OpenMPI keeps allocations past MPI_Finalize, which
# LeakSanitizer reports. tests/mpi/lsan.supp suppresses those whose stack passes through OpenMPI's libraries
# (never a frame of ours: a leak of ours is still reported). For the stacks to name those libraries, the MCA
# components stay loaded (no dlclose at finalize, else their frames are "<unknown module>") and malloc stacks are
# unwound the slow way (OpenMPI is built without frame pointers). All harmless in a build without ASan.
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1
run() { local np=$1; shift; timeout 120 "$mpiexec" -n "$np" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check=$bin/data_parallel_check
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

case "$case_" in
  data_parallel)
    run 2 "$check" steps || fail "data-parallel steps"
    ;;
  repertoire)
    run 2 "$check" repertoire || fail "data-parallel repertoire training"
    ;;
  resume)
    # Uninterrupted: 4 epochs on 1 rank. Then 2 epochs on 2 ranks resumed to 4 on 1 rank, and 2 epochs on 1
    # rank resumed to 4 on 2 ranks. Rank 0 writes the checkpoint; the others only read it.
    run 1 "$check" train "$tmp/full.npz" 4 || fail "uninterrupted run"
    run 2 "$check" train "$tmp/a.npz" 4 "$tmp/a.ck" stop-after-2 || fail "2 ranks, 2 epochs"
    run 1 "$check" train "$tmp/a.npz" 4 "$tmp/a.ck" resume | tee "$tmp/a.log" || fail "resume on 1 rank"
    grep -q resumed "$tmp/a.log" || fail "the 1-rank run did not resume"
    run 1 "$check" compare "$tmp/a.npz" "$tmp/full.npz" 1e-12 || fail "2 -> 1 ranks differs from the uninterrupted run"
    run 1 "$check" train "$tmp/b.npz" 4 "$tmp/b.ck" stop-after-2 || fail "1 rank, 2 epochs"
    run 2 "$check" train "$tmp/b.npz" 4 "$tmp/b.ck" resume | tee "$tmp/b.log" || fail "resume on 2 ranks"
    grep -q resumed "$tmp/b.log" || fail "the 2-rank run did not resume"
    run 1 "$check" compare "$tmp/b.npz" "$tmp/full.npz" 1e-12 || fail "1 -> 2 ranks differs from the uninterrupted run"
    # Atomic writes leave no temporary files behind.
    leftovers=$(find "$tmp" -name '*.tmp*' | wc -l)
    [ "$leftovers" = 0 ] || fail "temporary checkpoint files left: $(find "$tmp" -name '*.tmp*')"
    ;;
  fault)
    # ends(): the job must end, non-zero, within 30 s, and its stderr must name the rank.
    ends() {
      local name=$1 rank=$2; shift 2
      local t0=$SECONDS
      timeout 60 "$mpiexec" -n 2 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
      local rc=$? took=$((SECONDS - t0))
      echo "$name: exit $rc after $took s; stderr: $(grep -m1 -E "rank $rank" "$tmp/$name.err")"
      [ "$rc" -ne 0 ] || fail "$name: the job exited 0"
      [ "$rc" -ne 124 ] && [ "$took" -le 30 ] || fail "$name: the job did not end within 30 s"
      grep -q -E "rank $rank" "$tmp/$name.err" || fail "$name: no line naming rank $rank: $(cat "$tmp/$name.err")"
    }
    HOPFIELD_FAULT_RANK=1 HOPFIELD_FAULT_STEP=3 ends throw 1 -x HOPFIELD_FAULT_RANK -x HOPFIELD_FAULT_STEP "$check" fault
    grep -q "data_parallel_check: rank 1 of 2: fault_point: injected fault at training step 3" "$tmp/throw.err" ||
      fail "throw: not the program's one-line error"
    HOPFIELD_FAULT_RANK=0 HOPFIELD_FAULT_STEP=5 ends throw0 0 -x HOPFIELD_FAULT_RANK -x HOPFIELD_FAULT_STEP "$check" fault
    ends die 1 "$check" die 1 4
    ;;
  programs)
    bash "$(dirname "$0")/programs.sh" "$mpiexec" "${4:?programs dir}" || failures=$((failures + 1))
    ;;
  *) echo "usage: run.sh data_parallel|repertoire|resume|fault|programs MPIEXEC BIN_DIR [PROGRAMS_DIR]" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] && echo "mpi.$case_: ok"
exit $((failures > 0))
