#!/usr/bin/env bash
# Run the review team on one named command, headless, and remove it afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cao team validate "$here/team.yaml" >&2
CHANGE="${CHANGE:-feature/parser}" cao launch "$here/team.yaml" /review --rm \
  --session-name "example-review-$$" --env "CAO_MOCK_SCRIPT=$here/mock.json" \
  --timeout "${CAO_EXAMPLE_TIMEOUT:-300}"
