#!/usr/bin/env bash
# ansible-test sanity on every Python ansible-core 2.19 supports (3.8 to 3.13), on a copy of the
# collection's tracked files laid out as ansible_collections/nsbridge/network, and without the one
# download ansible-test cannot do here (pip's bootstrap: scripts/get_pip_standin.py takes its place).
# Extra arguments go to ansible-test (e.g. --test pep8).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# the sanity test "shellcheck" needs the program: without it ansible-test skips that test
if ! command -v shellcheck >/dev/null; then
  echo "sanity: installing shellcheck"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
pythons=(3.8 3.9 3.10 3.11 3.12 3.13)

for v in "${pythons[@]}"; do
  # an interpreter that runs (pyenv's shims answer for versions that are not selected, and fail)
  if ! "python$v" -c '' 2>/dev/null; then
    for dir in "$HOME"/.pyenv/versions/"$v"*/bin /root/.pyenv/versions/"$v"*/bin; do
      if [ -x "$dir/python$v" ]; then PATH="$dir:$PATH"; break; fi
    done
  fi
  "python$v" -c '' 2>/dev/null || { echo "sanity: python$v is missing (ansible-core 2.19 supports it; install it, e.g. with pyenv)" >&2; exit 1; }
done
export PATH

pip_version=$(.venv/bin/python - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp scripts/get_pip_standin.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/nsbridge/network"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
# a test ansible-test cannot run (a missing tool or interpreter) it skips with a warning: that fails here
"$root/.venv/bin/ansible-test" sanity --venv --color no "$@" 2>&1 | tee "$work/sanity.log"
if grep -E "^WARNING: (Skipping|Required program)" "$work/sanity.log"; then
  echo "sanity: a test was skipped (above); a skipped test is not a passed one" >&2
  exit 1
fi
