"""With the database unreachable, requests are answered 503 with `Retry-After`, never 500.

A real web server (the production server, one worker) pointed at a port where nothing listens.
"""

from collections.abc import Callable

import httpx

from tests.processes import free_port


def test_requests_are_503_in_the_error_shape_while_the_database_is_unreachable(web: Callable[..., str]) -> None:
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/delivery"
    base_url = web(workers=1, DATABASE_URL=nowhere, DB_POOL_TIMEOUT_SECONDS="1")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200  # the process is up
        assert client.get("/readyz").status_code == 503
        answers = [
            client.post("/api/sessions/", json={"phone": "+966500000001", "password": "secret"}),
            client.get("/api/orders/ALB-1/", headers={"Authorization": "Token not-checked-yet"}),
            client.post(
                "/graphql/",
                json={"query": "{ currentTrip { status } }"},
                headers={"Authorization": "Token not-checked-yet"},
            ),
        ]
    for answer in answers:
        assert answer.status_code == 503, (answer.request.url, answer.text)
        assert answer.json()["error"]["code"] == "unavailable"
        assert answer.headers["Retry-After"] == "1"
