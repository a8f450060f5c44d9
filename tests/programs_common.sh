# Sourced by tests/program_errors.sh and tests/program_outputs.sh (with their arguments): the folder of the built
# programs, a scratch folder removed on exit, and the case and failure counters.
set -uo pipefail
bin=${1:?usage: $(basename "$0") <folder with the built programs>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 cases=0
