"""GraphiQL (DEBUG only) is served from this app's static files: it works without internet access."""

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.mark.django_db
def test_graphiql_loads_every_script_and_style_from_local_static_files(settings: Any) -> None:
    settings.DEBUG = True
    page = Client().get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert len(assets) >= 5
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"), asset
        assert finders.find(asset.split("/static/", 1)[1]) is not None, asset


@pytest.mark.django_db
def test_graphiql_is_off_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    page = Client().get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 401
