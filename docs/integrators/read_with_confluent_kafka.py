"""Read Telemachus events with confluent-kafka, as an integrator would, on the
telemachus-integrator library alone (no other Telemachus code).

For every record the library reads the CloudEvents attributes from the Kafka headers,
verifies the institution's signature against the trust registry and validates the JSON
body against the event version's published JSON Schema.

usage: python read_with_confluent_kafka.py BOOTSTRAP TOPIC REGISTRY.json [SCHEMA_DIR] [--max N]

Prints one line per record: `verified <type> <id>` or `refused <reason>: <detail>`.
Partitions are assigned directly from the beginning (a consumer group works too; on the
local stand-in broker librdkafka takes about 24 s to join one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from verdicts import verdict

from telemachus_integrator import Reader, Schemas


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("bootstrap")
    cli.add_argument("topic")
    cli.add_argument("registry", type=Path)
    cli.add_argument("schemas", type=Path, nargs="?", help="default: the library's own copy")
    cli.add_argument("--max", type=int, default=100, help="stop after this many records")
    args = cli.parse_args()
    reader = Reader(args.registry, Schemas(args.schemas))
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "integrator-example",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(args.topic, timeout=10)
    partitions = metadata.topics[args.topic].partitions
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in partitions])
    seen, idle = 0, 0
    try:
        while seen < args.max and idle < 5:
            message = consumer.poll(1.0)
            if message is None:
                idle += 1
                continue
            if message.error():
                print(f"error {message.error()}", file=sys.stderr)
                continue
            idle, seen = 0, seen + 1
            headers = list(message.headers() or [])
            value = message.value()
            data = value if isinstance(value, bytes) else (value or "").encode()
            print(verdict(reader.from_kafka, args.topic, headers, data), flush=True)
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
