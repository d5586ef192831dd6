#!/usr/bin/env bash
# Read a Telemachus topic with kcat (Debian: apt-get install kcat) and verify every record:
#   docs/integrators/kcat.sh BOOTSTRAP TOPIC REGISTRY.json SCHEMA_DIR
# kcat assigns the partitions itself (-C), so no consumer group is joined.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kcat -C -b "$1" -t "$2" -o beginning -e -J -q | "${PYTHON:-python3}" "$here/verify_kcat.py" "$3" "$4"
