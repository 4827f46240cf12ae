"""PostgreSQL advisory locks, written once.

No maintained Django package covers transaction-scoped advisory locks (django-pglocks is
unmaintained and session-scoped by default), and the lock is one statement.
"""

import zlib

from django.db import connection


def advisory_xact_lock(name: str) -> None:
    """Hold the lock called `name` until the current transaction ends (call it inside `atomic`).

    Other transactions asking for the same name wait; a name is hashed to PostgreSQL's 32-bit key.
    """
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
