# Shared by scripts/test and scripts/demo: create .venv under the checkout and install actors with
# the named extras, re-installing only when setup.cfg changed since the last install.
VENV="${ACTORS_VENV:-$PWD/.venv}"
ensure_venv() {
  local extras="$1" stamp
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.actors-installed-$extras"
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
  fi
}
