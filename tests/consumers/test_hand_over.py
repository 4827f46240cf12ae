"""`waseat.close_requested` is for the waseat consumer alone: no other consumer may act on a hand-over."""

from consumers.registry import CONSUMER_MODULES, get_consumer


def test_only_the_waseat_consumer_handles_a_hand_over() -> None:
    handling = [name for name in CONSUMER_MODULES if "waseat.close_requested" in get_consumer(name).handlers]
    assert handling == ["waseat"]
