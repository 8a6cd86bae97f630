"""The roles other than the owner: analysts' read-only one (migration 0004) and the store's (0006)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

READER_ROLE = "wenming_reader"
# What the store stage logs in as where the migrations run apart (Compose, Kubernetes): it writes
# documents, figures, passages and the ingest log, and changes no schema.
WRITER_ROLE = "wenming_writer"
# Store replicas starting together take turns: concurrent ALTER ROLE of one role can fail with
# "tuple concurrently updated". Any constant works, the same in every replica.
_ROLE_LOCK = 0x77726472


def set_role_password(connection: Connection, role: str, password: str) -> None:
    """Let `role` log in with `password`, in the caller's transaction.

    libpq hashes it first (SCRAM or MD5, as the server's password_encryption says), so the password
    itself never reaches the server, its statement log or pg_stat_activity.
    """
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ROLE_LOCK})
    pgconn = connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
    verifier = pgconn.encrypt_password(password.encode(), role.encode(), None).decode()
    quoted = "'" + verifier.replace("'", "''") + "'"
    # Straight to the driver: sa.text() would read the verifier's ':name' runs as bind parameters.
    connection.exec_driver_sql(f"ALTER ROLE {role} WITH LOGIN PASSWORD {quoted}")
