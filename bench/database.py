"""The benchmark's own PostgreSQL database, dropped and created again at every run so runs are comparable."""

import dj_database_url
import psycopg
from psycopg import sql

from bench.processes import BenchError

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/delivery_bench"


def database_recreate(url: str) -> str:
    """Drop (if present) and create the database named in `url`; returns its name."""
    params = dj_database_url.parse(url)
    if "postgresql" not in params["ENGINE"]:
        raise BenchError(f"BENCH_DATABASE_URL must be a PostgreSQL URL (got {url!r}).")
    name = str(params["NAME"])
    if "bench" not in name:
        # The database is dropped at every run: never one that could hold anything else.
        raise BenchError(f"Refusing to drop database {name!r}: the benchmark's database name must contain 'bench'.")
    try:
        connection = psycopg.connect(
            dbname="postgres",
            user=params["USER"] or None,
            password=params["PASSWORD"] or None,
            host=params["HOST"] or None,
            port=params["PORT"] or None,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        raise BenchError(f"Cannot connect to PostgreSQL at BENCH_DATABASE_URL={url}: {exc}".strip()) from exc
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return name
