"""`python -m bench.profile [operation]`: where one driver request spends its time, in process.

Production settings (DEBUG off) on the benchmark's database as `bench.serving` leaves it, the
WSGI handler called directly (no server, no network): pyinstrument's call tree of `BENCH_REQUESTS`
sequential requests of `currentTrip` (default), `updateDriverProfile` or `healthz`.
"""

import os
import sys
import time

import django

from bench.database import DEFAULT_DATABASE_URL
from bench.run import OUT_DIR, UNSET, environment
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE

DOCUMENTS = {
    "currentTrip": (CURRENT_TRIP, {}),
    "updateDriverProfile": (UPDATE_DRIVER_PROFILE, {"latitude": 21.5, "longitude": 39.1}),
}


def main() -> int:
    operation = sys.argv[1] if len(sys.argv) > 1 else "currentTrip"
    requests = int(os.environ.get("BENCH_REQUESTS", "500"))
    env = environment(
        database_url=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL, var_dir=OUT_DIR / "run"
    )
    env.pop("SQL_COUNT_HEADER", None)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(env)
    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from delivery.models import Driver
    from delivery.services.accounts import token_issue

    driver = Driver.objects.filter(current_delivery__isnull=False).select_related("user").first()
    if driver is None:
        print("no driver with a trip: run `python -m bench.serving` first", file=sys.stderr)
        return 2
    client = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=driver.user)}", HTTP_HOST="127.0.0.1")

    def once() -> None:
        if operation == "healthz":
            response = client.get("/healthz")
        else:
            query, variables = DOCUMENTS[operation]
            response = client.post(
                "/graphql/", {"query": query, "variables": variables}, content_type="application/json"
            )
        assert response.status_code == 200, response.content

    for _ in range(50):
        once()
    started = time.perf_counter()
    with Profiler(interval=0.0002) as profiler:
        for _ in range(requests):
            once()
    elapsed = time.perf_counter() - started
    print(f"{operation}: {requests} requests, {1000 * elapsed / requests:.2f} ms each (profiled)")
    print(profiler.output_text(unicode=False, color=False, show_all=os.environ.get("BENCH_PROFILE_ALL") == "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
