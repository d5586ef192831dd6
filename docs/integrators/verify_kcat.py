"""Verify what kcat reads: `kcat -C -J ...` JSON lines on stdin, one result line per record,
with the telemachus-integrator library.

usage: kcat -C -b BOOTSTRAP -t TOPIC -o beginning -e -J -q | python verify_kcat.py REGISTRY SCHEMAS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from verdicts import verdict

from telemachus_integrator import Reader, Schemas


def main() -> int:
    reader = Reader(Path(sys.argv[1]), Schemas(sys.argv[2] if len(sys.argv) > 2 else None))
    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        flat = record.get("headers") or []  # kcat: [name, value, name, value, ...]
        headers = {str(flat[i]): str(flat[i + 1] or "") for i in range(0, len(flat) - 1, 2)}
        data = (record.get("payload") or "").encode()
        topic = record["topic"]
        print(verdict(reader.from_kafka, topic, headers, data), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
