"""Websocket routing beyond the apps' own routes: any other path is closed cleanly (4404), never a 500."""

from channels.generic.websocket import WebsocketConsumer
from django.urls import URLPattern, re_path

UNKNOWN_PATH_CLOSE_CODE = 4404


class UnknownPathConsumer(WebsocketConsumer):
    """Refuses the handshake of a path no consumer serves."""

    def connect(self) -> None:
        self.close(code=UNKNOWN_PATH_CLOSE_CODE)


# Last in the router: matched only when no real route did.
unknown_path_fallback: list[URLPattern] = [re_path(r"", UnknownPathConsumer.as_asgi())]
