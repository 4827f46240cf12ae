"""What the fuzzers share: hostile values, raw bodies, and a tally of answers that becomes a drill row.

Each fuzzer sends generated requests through Django's test client (no exception re-raised, so a
5xx is seen as an answer), counts 5xx answers and, for every rejected request (4xx), compares the
state it could have changed before and after: any difference is a "change on rejection".
"""

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.reliability.report import DrillResult, record

# Strings an attacker tries: NUL, lone surrogates, bidi and zero-width characters, huge, SQL and template text.
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "\ud800",
            "\udfff x",
            "\u202e\u200b",
            "'; DROP TABLE delivery_order; --",
            "{{7*7}}",
            "../../etc/passwd",
            "%00",
            "null",
            "x" * 1000,
            "9" * 400,
        ]
    ),
)
HOSTILE_NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 1e308, -1e308, 0.1]),
)
SCALAR = st.one_of(st.none(), st.booleans(), HOSTILE_NUMBER, HOSTILE_TEXT)
JSON_VALUE = st.recursive(
    SCALAR,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(HOSTILE_TEXT, children, max_size=4),
    max_leaves=10,
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", "application/graphql", ""]
)
RAW_BODY = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"[" * 4000,
            b"{" * 100,
            b'{"a":' * 70 + b"1" + b"}" * 70,
            b"\xff\xfe\x00",
            b'{"x": NaN}',
            b'{"x": 1e999}',
            b'{"x": "\\ud800"}',
            b'{"x": "\\u0000"}',
        ]
    ),
)


def dumps(value: Any) -> bytes:
    """JSON as an attacker may send it: NaN and lone surrogates included."""
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class Tally:
    """Answers seen by one fuzzer: how many inputs, 5xx answers, and rejected requests that changed state."""

    drill: str
    inputs: int = 0
    server_errors: int = 0
    changed_on_rejection: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def check(
        self, *, request: str, status: int, before: Hashable, after: Hashable, rejected: bool | None = None
    ) -> None:
        """Count one answer; `rejected` defaults to "the status is a 4xx"."""
        self.inputs += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 500:
            self.server_errors += 1
            self._keep(f"{status} for {request}")
        elif (400 <= status < 500 if rejected is None else rejected) and before != after:
            self.changed_on_rejection += 1
            self._keep(f"{status} changed state for {request}")

    def _keep(self, example: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(example[:500])

    def finish(self) -> None:
        """Record the drill row, then fail on any 5xx or change on rejection."""
        record(
            DrillResult(
                drill=self.drill,
                requests=self.inputs,
                failed_requests=self.server_errors,
                events_lost=0,
                duplicate_effects=self.changed_on_rejection,
            )
        )
        assert self.server_errors == 0, self.examples
        assert self.changed_on_rejection == 0, self.examples
