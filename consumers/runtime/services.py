"""devserver: every registered consumer on its own thread."""

import logging
import threading

from consumers.registry import ConsumerDefinition, all_consumers
from consumers.runtime.ratio_guard import ConsumerHalted
from consumers.runtime.runner import ConsumerRunner

logger = logging.getLogger(__name__)


class ConsumerService:
    """One consumer in-process; the broker's address is read when it starts."""

    def __init__(self, definition: ConsumerDefinition) -> None:
        self.definition = definition
        self.name = f"consumer {definition.name}"
        self._runner: ConsumerRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._runner = ConsumerRunner(self.definition)
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.definition.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._runner is not None
        try:
            self._runner.run()
        except ConsumerHalted as exc:
            logger.error("%s", exc)
        except Exception:
            logger.exception("consumer %s crashed", self.definition.name)

    def stop(self, timeout: float = 10.0) -> None:
        if self._runner is not None:
            self._runner.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)


def consumer_services() -> list[ConsumerService]:
    return [ConsumerService(definition) for definition in all_consumers()]
