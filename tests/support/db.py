"""Fresh issuer databases for tests: a SQLite file, or a schema of its own on the PostgreSQL server.

PostgreSQL comes from ``ANCHOR_TEST_DATABASE_URL`` (``.ci/run`` always sets it; ``.ci/run --postgres-only``
starts a local server and prints it). Without it the PostgreSQL cases are skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from support.prerequisites import missing

PG_URL_VARIABLE = "ANCHOR_TEST_DATABASE_URL"
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str:
    """The PostgreSQL test server's URL, or skip the test."""
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        missing(
            f"PostgreSQL test skipped: {PG_URL_VARIABLE} is not set "
            "(`.ci/run` sets it; `.ci/run --postgres-only` starts a local server and prints it)"
        )
    return url


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file in ``folder``, or a new PostgreSQL schema.

    The schema is the connection's ``search_path`` (through the URL), and is dropped afterwards.
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'issuer.db'}"
        return
    base = make_url(postgres_url())
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        # A failed test may leave a connection in a transaction (a generator in its traceback): do not
        # wait for it forever; an abandoned schema in the test database is harmless.
        try:
            with admin.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        except OperationalError as error:
            warnings.warn(f"schema {schema} left behind: {error.orig}", stacklevel=1)
        admin.dispose()
