#!/usr/bin/env bash
# Set-up shared by the run and test commands: the two virtual environments and
# the trained NLU model. Each step runs only when its inputs changed, and says
# what it is doing. Re-running it is cheap.
#   .venv                the bot service, Python 3.11 (pyproject.toml)
#   .venv-nlu            Rasa Open Source 3.6, Python 3.10 (nlu/requirements.txt)
#   widget/node_modules  the web widget's browser packages (widget/package-lock.json)
#   chromium             Debian's browser, for the browser tests (test command only)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# Print the path of a working interpreter for version $1 (e.g. 3.10), or nothing.
find_python() {
  local version=$1 candidate
  for candidate in "python$version" \
      $(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$version".*/bin/python 2>/dev/null) \
      "/usr/bin/python$version" "/usr/local/bin/python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$version'.split('.')))" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  if command -v uv >/dev/null 2>&1; then
    uv python install "$version" >/dev/null 2>&1 || true
    uv python find "$version" 2>/dev/null && return 0
  fi
  return 0
}

need_python() {
  local version=$1 purpose=$2 found
  found=$(find_python "$version")
  if [ -z "$found" ]; then
    cat >&2 <<MSG
error: Python $version is needed for $purpose, and none was found.
Install it with one of:
  pyenv install $version          (then re-run this command)
  uv python install $version
  sudo apt-get install python$version python$version-venv   (Debian/Ubuntu with deadsnakes)
MSG
    exit 1
  fi
  echo "$found"
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# Run a long command with its output in a log file, printing a heartbeat with the
# number of packages fetched so far; on failure show the log's end.
with_progress() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  local pid=$! seconds=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5; seconds=$((seconds + 5))
    if [ $((seconds % 20)) -eq 0 ]; then
      say "  ...still working ($seconds s, $(grep -c '^Collecting' "$log" 2>/dev/null || true) packages resolved)"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$log" >&2
    echo "error: '$*' failed; full log in $log" >&2
    exit 1
  fi
}

# $1 venv dir, $2 python version, $3 purpose, $4 stamp, rest: pip install arguments
ensure_venv() {
  local dir=$1 version=$2 purpose=$3 stamp=$4; shift 4
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ]; then
    say "$dir is up to date."
    return 0
  fi
  local python
  python=$(need_python "$version" "$purpose")
  say "Creating $dir with $python ($purpose); first run takes a few minutes..."
  rm -rf "$dir"
  "$python" -m venv "$dir"
  with_progress "$dir/pip.log" "$dir/bin/python" -m pip install --upgrade pip 'setuptools<70' wheel
  say "Installing packages into $dir..."
  with_progress "$dir/pip.log" "$dir/bin/python" -m pip install --progress-bar off "$@"
  "$dir/bin/python" -m pip check >/dev/null 2>&1 || say "note: pip check reports conflicts in $dir (see 'pip check')."
  echo "$stamp" > "$dir/.installed"
  say "$dir ready."
}

ensure_venv .venv 3.11 "the bot service" "$(stamp_of pyproject.toml)" -e '.[test]'
[ -x .venv/bin/python ] && .venv/bin/python -c "import botbuilder.core, aiohttp, lingua" \
  || { echo "error: .venv is broken; delete it and re-run" >&2; exit 1; }

ensure_venv .venv-nlu 3.10 "Rasa 3.6 (it supports Python 3.8-3.10 only)" \
  "$(stamp_of nlu/requirements.txt nlu/constraints.txt)" -r nlu/requirements.txt
[ -x .venv-nlu/bin/rasa ] || { echo "error: .venv-nlu has no rasa; delete it and re-run" >&2; exit 1; }

# The widget's packages (HDS styles, Web Chat for the interop page, axe-core for
# the accessibility tests) come from the npm registry, exactly as locked.
ensure_widget_packages() {
  local stamp
  stamp=$(stamp_of widget/package.json widget/package-lock.json)
  if [ -f widget/node_modules/.installed ] && [ "$(cat widget/node_modules/.installed)" = "$stamp" ]; then
    say "widget/node_modules is up to date."
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm (Node.js) is needed for the web widget's packages: apt-get install nodejs npm" >&2
    exit 1
  fi
  say "Installing the widget's npm packages (widget/package-lock.json)..."
  with_progress widget/npm.log npm ci --prefix widget --no-audit --no-fund --ignore-scripts
  echo "$stamp" > widget/node_modules/.installed
  say "widget/node_modules ready."
}
ensure_widget_packages

# Browser tests drive Debian's Chromium (no browser downloads at run time).
# Only the test command asks for it: SETUP_BROWSER=1.
if [ "${SETUP_BROWSER:-0}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Debian's chromium for the browser tests..."
    with_progress /tmp/kasko-apt.log sh -c \
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'
  else
    say "note: chromium is not installed and cannot be installed here (needs root and apt-get);"
    say "      the browser tests will be skipped and say so. Install it: apt-get install chromium"
  fi
fi

.venv/bin/python -m nlu.service train 2>&1 | sed 's/^/[setup] /'
exit "${PIPESTATUS[0]}"
