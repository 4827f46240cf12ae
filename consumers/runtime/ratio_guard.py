"""Stops a consumer when too many recent messages failed: a bad deploy must not drain the topic
into the dead-letter topic."""

from collections import deque


class ConsumerHalted(RuntimeError):
    """The consumer stopped itself; the message that tripped the guard was neither dead-lettered nor committed."""


class RatioGuard:
    """Over the last `window` handled messages, trip when the failed share reaches `limit`.

    It judges only once `min(window, 10)` messages were seen, so one early failure does not stop it.
    """

    def __init__(self, *, limit: float, window: int) -> None:
        self.limit = limit
        self.window = window
        self.min_samples = min(window, 10)
        self._outcomes: deque[bool] = deque(maxlen=window)

    def record_success(self) -> None:
        self._outcomes.append(False)

    def would_trip(self) -> bool:
        """Would one more failure trip the guard? (Asked before dead-lettering it.)"""
        outcomes = [*self._outcomes, True][-self.window :]
        return len(outcomes) >= self.min_samples and sum(outcomes) / len(outcomes) >= self.limit

    def record_failure(self) -> None:
        self._outcomes.append(True)

    def describe(self) -> str:
        outcomes = [*self._outcomes, True][-self.window :]
        return f"{sum(outcomes)} of the last {len(outcomes)} messages failed (limit {self.limit:.0%})"
