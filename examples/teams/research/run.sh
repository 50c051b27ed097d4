#!/usr/bin/env bash
# Run the research team's /research command headless and remove it afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cao team validate "$here/team.yaml" >&2
TOPIC="${TOPIC:-tmux}" cao launch "$here/team.yaml" /research --rm \
  --session-name "example-research-$$" --env "CAO_MOCK_SCRIPT=$here/mock.json" \
  --timeout "${CAO_EXAMPLE_TIMEOUT:-300}"
