"""Websocket handshakes to paths no consumer serves are closed cleanly, never a 500."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from config.asgi import application
from config.websockets import UNKNOWN_PATH_CLOSE_CODE

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.mark.parametrize(
    "path",
    ["/ws/nope/", "/", "/ws/restaurant/branches/abc/", "/ws/restaurant/branches/1/extra/", "/graphql/", "/%00/"],
)
def test_unknown_paths_are_closed_cleanly(path: str) -> None:
    async def handshake() -> tuple[bool, object]:
        communicator = WebsocketCommunicator(application, path, headers=HEADERS)
        try:
            return await communicator.connect(timeout=5)
        finally:
            await communicator.disconnect()

    connected, code = async_to_sync(handshake)()
    assert connected is False
    assert code == UNKNOWN_PATH_CLOSE_CODE
