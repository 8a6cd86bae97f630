"""Server URLs as people write them: the address to show, what makes a Redis URL unusable, and
what a failure to use the Redis it names means.

Light on purpose (redis-py is imported only when needed): health checks and `wenming lag` use it.
"""

from __future__ import annotations

import os
import re
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit


def first_line(error: BaseException) -> str:
    """The gist of an error, on one line."""
    # SQLAlchemy wraps the driver's error in a longer text; the driver's own says it all.
    error = getattr(error, "orig", None) or error
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def server_address(url: str, default_port: int) -> str:
    """host:port (or socket path) of a server URL, without user or password."""
    parts = urlsplit(url)
    if parts.hostname:
        return f"{parts.hostname}:{parts.port or default_port}"
    socket_dir = parse_qs(parts.query).get("host")
    return socket_dir[0] if socket_dir else parts.path or "localhost"


# Files a Redis URL may name for TLS. A missing one would otherwise surface at each connection as
# "No such file or directory", read as a server that does not answer and waited for forever.
_REDIS_TLS_FILES = ("ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile")


def redis_url_problem(url: str) -> str | None:
    """What makes a Redis URL unusable, in words that never repeat its password; None if nothing does."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "give a URL starting with redis://, rediss:// (TLS) or unix://"
    if parts.scheme != "unix":
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:  # its text may be a piece of the password: never shown
            port_ok = False
        if not parts.hostname or not port_ok:
            return (
                "no host and port could be read from it; "
                "a password with any of / ? # @ % : in it must be URL-encoded"
            )
    # Imported here: the commands that need no Redis should not pay for loading its client.
    from redis.asyncio.connection import Connection, parse_url
    from redis.exceptions import RedisError

    try:
        options: dict[str, Any] = dict(parse_url(url))
        connection_class = options.pop("connection_class", Connection)
        connection_class(**options)  # connects to nothing: refuses unknown options and bad values
    except TypeError as exc:
        unknown = re.search(r"argument '(\w+)'", str(exc))
        name = unknown.group(1) if unknown else str(exc)
        if name.startswith("ssl") and parts.scheme != "rediss":
            return f"a {parts.scheme}:// connection has no option {name!r} (TLS options need rediss://)"
        return f"a {parts.scheme}:// connection has no option {name!r}"
    except (ValueError, RedisError) as exc:
        return str(exc)
    for option, values in parse_qs(parts.query).items():
        if option in _REDIS_TLS_FILES and not os.access(values[0], os.R_OK):
            return f"{option}={values[0]}: no such file, or not readable"
    return None


def redis_failure(error: BaseException, *, redis_url: str) -> str:
    """Why the Redis of `redis_url` could not be used: one line a person can act on, never the password."""
    from redis.exceptions import AuthenticationError

    if isinstance(error, AuthenticationError):
        # Without a password, Redis's own words name a HELLO or AUTH command the user never typed.
        if urlsplit(redis_url).password is None:
            return "Redis asks for a password and the URL gives none: redis://:PASSWORD@host:port/0"
        return f"Redis refused the user or password of the URL: {first_line(error)}"
    unverified = _certificate_error(error)
    if unverified is not None:
        reason = unverified.verify_message or first_line(unverified)
        if "mismatch" in reason:  # the certificate is sound but names another host
            return f"the TLS certificate of Redis cannot be verified: {reason}"
        return (
            f"the TLS certificate of Redis cannot be verified: {reason}; "
            "give the CA that signed it in the URL: rediss://...?ssl_ca_certs=/path/ca.crt"
        )
    return first_line(error)


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind `error`: redis-py raises its own error while handling it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
