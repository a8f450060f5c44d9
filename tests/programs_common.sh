# Sourced by tests/program_errors.sh, program_outputs.sh and program_resume.sh (with their arguments): the folder of the built
# programs, a scratch folder removed on exit, and the case and failure counters.
set -uo pipefail
bin=${1:?usage: $(basename "$0") <folder with the built programs>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 cases=0

# make_uci <folder> <rows> [label offset]: a tiny dataset in the uci121 layout (folder name = dataset name): 2
# features, 2 classes (label (i + offset) % 2); in split k row i is a test row when i % 4 == k and a validation
# row when (i + 1) % 4 == k.
make_uci() {
  local d=$1 rows=$2 offset=${3:-0} name i t v
  name=$(basename "$d")
  mkdir -p "$d"
  for i in $(seq 0 $((rows - 1))); do
    echo "$((i % 7)).5,$((i % 3)).25" >>"$d/${name}_py.dat"
    echo "$(((i + offset) % 2))" >>"$d/labels_py.dat"
    t=$((i % 4)) v=$(((i + 1) % 4))
    echo "$([ $t = 0 ] && echo 1 || echo 0),$([ $t = 1 ] && echo 1 || echo 0),$([ $t = 2 ] && echo 1 || echo 0),$([ $t = 3 ] && echo 1 || echo 0)" >>"$d/folds_py.dat"
    echo "$([ $v = 0 ] && echo 1 || echo 0),$([ $v = 1 ] && echo 1 || echo 0),$([ $v = 2 ] && echo 1 || echo 0),$([ $v = 3 ] && echo 1 || echo 0)" >>"$d/validation_folds_py.dat"
  done
}
