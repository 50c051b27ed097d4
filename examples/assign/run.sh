#!/usr/bin/env bash
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../run_example.sh" "$here" analysis_supervisor "Analyse the sales data for Q1, Q2 and Q3."
