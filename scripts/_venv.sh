# Shared by scripts/test, scripts/demo and scripts/bench_all: create .venv under the checkout and install
# the project (distribution actors-deepgram) with the named extras, re-installing only when setup.cfg or
# pyproject.toml changed since the last install of those extras. The distribution used to be named
# 'actors' (an unrelated project on PyPI); an old editable install of that name is removed first. pip's output goes to $VENV/pip.log and is shown only if the install fails.
VENV="${ACTORS_VENV:-$PWD/.venv}"
ensure_venv() {
  local extras="$1" stamp log
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.actors-installed-$extras"
  log="$VENV/pip.log"
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setting up $VENV (actors-deepgram[$extras]) ..." >&2
    if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip \
           && "$VENV/bin/python" -m pip uninstall --quiet --yes actors \
           && "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "installing actors-deepgram[$extras] failed; the log above is also in $log" >&2
      return 1
    fi
    touch "$stamp"
  fi
}

# ensure_apt_tools CMD:PACKAGE ...: install each Debian PACKAGE whose CMD is missing (one apt-get run).
# CMD is a command on PATH, or an absolute path glob for tools Debian keeps off PATH
# (e.g. /usr/lib/postgresql/*/bin/pg_ctl); the glob is satisfied by any executable match.
_apt_tool_present() {
  local cmd="$1" match
  if [ "${cmd#/}" = "$cmd" ]; then
    command -v "$cmd" >/dev/null 2>&1
    return
  fi
  for match in $cmd; do
    [ -x "$match" ] && return 0
  done
  return 1
}
ensure_apt_tools() {
  local pair missing=()
  for pair in "$@"; do
    _apt_tool_present "${pair%%:*}" || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]} ..." >&2
  local log="${TMPDIR:-/tmp}/actors-apt.log"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "installing ${missing[*]} failed (the log above is also in $log)" >&2
    return 1
  fi
}
