# Shared by scripts/test, scripts/demo and scripts/bench_all: create .venv under the checkout and install
# actors with the named extras, re-installing only when setup.cfg or pyproject.toml changed since the last
# install of those extras. pip's output goes to $VENV/pip.log and is shown only if the install fails.
VENV="${ACTORS_VENV:-$PWD/.venv}"
ensure_venv() {
  local extras="$1" stamp log
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.actors-installed-$extras"
  log="$VENV/pip.log"
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setting up $VENV (actors[$extras]) ..." >&2
    if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip \
           && "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "installing actors[$extras] failed; the log above is also in $log" >&2
      return 1
    fi
    touch "$stamp"
  fi
}
