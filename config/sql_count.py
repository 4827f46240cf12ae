"""`SQL_COUNT_HEADER=1` (the benchmark): each response says how many SQL statements its request ran.

Counts everything the request runs, its on-commit work included, in the `X-SQL-Queries` header.
Off by default: production answers carry no such header.
"""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


class SqlCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        statements = 0

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-SQL-Queries"] = str(statements)
        return response
