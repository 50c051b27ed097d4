#!/usr/bin/env bash
# Register the daily flow, run it once now, show its history, then remove it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cao flow add "$here/daily-summary.flow.md"
trap 'cao flow remove daily-summary >/dev/null' EXIT
cao flow run daily-summary --wait
cao flow history daily-summary
