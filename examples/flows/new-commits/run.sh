#!/usr/bin/env bash
# Register the gated flow and run it twice: the first run reviews the latest commits, the second
# finds nothing new and is skipped by the script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cao flow add "$here/new-commits.flow.md"
trap 'cao flow remove new-commits >/dev/null' EXIT
cao flow run new-commits --wait
cao flow run new-commits --wait
cao flow history new-commits
