#!/usr/bin/env bash
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../run_example.sh" "$here" alice "Ask Bob which editor he prefers, and talk it through."
