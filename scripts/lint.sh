#!/usr/bin/env bash
# Lints for everything that is not Rust: shellcheck on every shell script and flake8 on every Python
# file of the repository (git ls-files). Scripts without an ending, such as lab/ferroha-lab or
# lab/pdu, are recognised by their #! line. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
shell=() python=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case $f in
    *.sh) shell+=("$f"); continue ;;
    *.py) python+=("$f"); continue ;;
  esac
  IFS= read -r first <"$f" || true
  case $first in
    '#!'*bash* | '#!'*/sh | '#!'*' sh') shell+=("$f") ;;
    '#!'*python*) python+=("$f") ;;
  esac
done < <(git ls-files)
rc=0
shellcheck -x "${shell[@]}" || rc=1
flake8 "${python[@]}" || rc=1
echo "lint: shellcheck on ${#shell[@]} shell scripts, flake8 on ${#python[@]} Python files: $([ $rc = 0 ] && echo clean || echo FINDINGS)"
exit $rc
