#!/usr/bin/env bash
# Install the public CAO (cli-agent-orchestrator 2.5.4, from PyPI) into its own venv outside the repo,
# so bench/compare.py can measure it side by side with cao. Also installs the load generator (wrk)
# and hyperfine with apt-get when they are missing.
#   usage: bench/install_upstream.sh [VENV=/tmp/upstream-venv]
set -euo pipefail
VENV=${1:-${CAO_UPSTREAM_VENV:-/tmp/upstream-venv}}
VERSION=2.5.4
PY=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in wrk hyperfine; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install_upstream: installing $tool with apt-get (the benchmark's load generator / timer)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  fi
done
if [ -x "$VENV/bin/cao-server" ] && "$VENV/bin/python" -m pip show cli-agent-orchestrator 2>/dev/null \
    | grep -qx "Version: $VERSION"; then
  echo "install_upstream: cli-agent-orchestrator $VERSION already in $VENV" >&2
  exit 0
fi
echo "install_upstream: installing cli-agent-orchestrator==$VERSION from PyPI into $VENV (pip, bytecode compiled)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cli-agent-orchestrator==$VERSION"
"$VENV/bin/python" -m pip show cli-agent-orchestrator | sed -n 's/^Version: /install_upstream: installed version /p' >&2
