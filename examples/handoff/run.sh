#!/usr/bin/env bash
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../run_example.sh" "$here" handoff_supervisor "Summarise why tmux suits AI coding agents."
