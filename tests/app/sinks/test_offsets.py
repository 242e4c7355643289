"""topic_reader retries a broker's passing states (no leader, coordinator moving), and only those."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from app.sinks import offsets


def _failing(codes: list[int], value):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(codes):
            raise KafkaException(KafkaError(codes[len(calls) - 1]))
        return value

    return call, calls


def test_a_moving_coordinator_is_waited_for():
    call, calls = _failing([KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS], "offsets")
    assert offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=5) == "offsets"
    assert len(calls) == 3


def test_any_other_error_is_raised_at_once():
    call, calls = _failing([KafkaError.GROUP_AUTHORIZATION_FAILED], "offsets")
    with pytest.raises(KafkaException, match="GROUP_AUTHORIZATION_FAILED"):
        offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=5)
    assert len(calls) == 1


def test_a_coordinator_that_never_comes_fails_after_the_timeout():
    call, calls = _failing([KafkaError.NOT_COORDINATOR] * 100, "offsets")
    with pytest.raises(KafkaException, match="NOT_COORDINATOR"):
        offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=0.5)
    assert 2 <= len(calls) < 10
