#!/usr/bin/env bash
# Shared by the examples: run_example.sh DIR CONDUCTOR TASK
set -euo pipefail
dir="$1"; conductor="$2"; task="$3"
for profile in "$dir"/profiles/*.md; do cao install "$profile" >/dev/null; done
session="example-$(basename "$dir")-$$"
cao launch --agents "$conductor" --provider "${CAO_EXAMPLE_PROVIDER:-mock}" --headless --async \
  --session-name "$session" --env "CAO_MOCK_SCRIPT=$dir/mock.json" "$task"
trap 'cao shutdown --session "$session" >/dev/null' EXIT
cao session status "$session" --workers >&2 || true
cao session wait "$session" --timeout "${CAO_EXAMPLE_TIMEOUT:-300}"
