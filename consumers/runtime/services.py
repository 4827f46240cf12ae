"""devserver: every registered consumer on its own thread, started again if it fails."""

import logging
import threading

from consumers.registry import ConsumerDefinition, all_consumers
from consumers.runtime.dead_letter_limit import ConsumerHalted
from consumers.runtime.runner import ConsumerRunner

logger = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 5.0


class ConsumerService:
    """One consumer in-process; the broker's address is read when it starts."""

    def __init__(self, definition: ConsumerDefinition) -> None:
        self.definition = definition
        self.name = f"consumer {definition.name}"
        self._runner: ConsumerRunner | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.definition.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._runner = ConsumerRunner(self.definition)
            if self._stopping.is_set():
                return
            try:
                self._runner.run()
            except ConsumerHalted as exc:
                logger.error("%s", exc)
                return  # restarting would stop at the same message
            except Exception:
                logger.exception("consumer %s crashed; starting it again", self.definition.name)
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._runner is not None:
            self._runner.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)


def consumer_services() -> list[ConsumerService]:
    return [ConsumerService(definition) for definition in all_consumers()]
