"""The launcher starts real servers and leaves nothing running."""

from __future__ import annotations

import os

from telemachus.shared.runtime.local_infra import LocalInfrastructure, kafka_answers, mongo_answers


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_servers_answer_and_are_stopped_by_their_recorded_pids() -> None:
    infra = LocalInfrastructure()
    with infra:
        pids = infra.pids
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        assert kafka_answers("127.0.0.1", infra.kafka_port)
        assert mongo_answers(infra.mongodb_uri)
    assert not any(alive(pid) for pid in pids)
    assert not infra.workdir.exists()
    assert not kafka_answers("127.0.0.1", infra.kafka_port)
