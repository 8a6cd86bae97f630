"""Redis URLs: what makes one unusable, what a failure to use its server means; never its password."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.server_urls import redis_failure, redis_url_problem
from shared.settings import Settings, SettingsError

SECRET = "s3cret"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://:s3cret@127.0.0.1:6379/0",
        "redis://wenming:s3cret@redis.internal:6379/2",
        "redis://:a%2Fb%40c%3Ad%25e%23f%3Fg@127.0.0.1:6379/0",  # a/b@c:d%e#f?g, encoded
        "rediss://:s3cret@redis.internal:6380/0",
        "rediss://:s3cret@redis.internal:6380/0?ssl_cert_reqs=none",
        "unix:///run/redis.sock?db=1",
    ],
)
def test_urls_that_can_work_have_no_problem(url: str) -> None:
    assert redis_url_problem(url) is None


def test_a_ca_file_given_in_the_url_must_be_there(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    url = f"rediss://:s3cret@redis.internal:6380/0?ssl_ca_certs={ca}"
    assert redis_url_problem(url) == f"ssl_ca_certs={ca}: no such file, or not readable"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    assert redis_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:6379", "give a URL starting with redis://, rediss:// (TLS) or unix://"),
        ("redis://:s3/cret@127.0.0.1:6379/0", "a password with any of / ? # @ % : in it must be URL-encoded"),
        ("redis://:s3cret@127.0.0.1:s3cret/0", "no host and port could be read from it"),
        (
            "rediss://:s3cret@h:6380/0?ssl_ca_cert=/ca.crt",
            "a rediss:// connection has no option 'ssl_ca_cert'",
        ),
        (
            "redis://:s3cret@h:6379/0?ssl_ca_certs=/ca.crt",
            "no option 'ssl_ca_certs' (TLS options need rediss://)",
        ),
        ("rediss://:s3cret@h:6380/0?ssl_cert_reqs=maybe", "Invalid SSL Certificate Requirements Flag: maybe"),
        ("redis://:s3cret@h:6379/0?db=first", "Invalid value for 'db' in connection URL."),
    ],
)
def test_urls_that_cannot_work_say_why_without_the_password(url: str, problem: str) -> None:
    said = redis_url_problem(url)
    assert said is not None and problem in said and SECRET not in said


def test_a_stage_is_refused_an_unusable_url_in_one_line() -> None:
    settings = Settings(redis_url="redis://:s3/cret@127.0.0.1:6379/0")
    with pytest.raises(SettingsError, match=r"^WENMING_REDIS_URL: no host and port") as refused:
        settings.require_redis_url()
    assert SECRET not in str(refused.value) and "\n" not in str(refused.value)


def test_a_refused_password_and_a_missing_one_are_told_apart() -> None:
    refused = AuthenticationError("invalid username-password pair or user is disabled.")
    assert redis_failure(refused, redis_url="redis://:s3cret@h:6379/0") == (
        "Redis refused the user or password of the URL: invalid username-password pair or user is disabled."
    )
    missing = AuthenticationError("HELLO must be called with the client already authenticated, otherwise …")
    assert redis_failure(missing, redis_url="redis://h:6379/0") == (
        "Redis asks for a password and the URL gives none: redis://:PASSWORD@host:port/0"
    )


def _raised_while_verifying(verify_message: str) -> RedisConnectionError:
    """A ConnectionError as redis-py raises it: while handling the failed handshake, so in its context."""
    unverified = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {verify_message}")
    unverified.verify_message = verify_message
    error = RedisConnectionError(f"Error 1 connecting to h:6380. {unverified}.")
    error.__context__ = unverified
    return error


def test_an_unverified_certificate_names_the_reason_and_the_way_to_give_a_ca() -> None:
    error = _raised_while_verifying("self-signed certificate in certificate chain")
    assert redis_failure(error, redis_url="rediss://:s3cret@h:6380/0") == (
        "the TLS certificate of Redis cannot be verified: self-signed certificate in certificate chain; "
        "give the CA that signed it in the URL: rediss://...?ssl_ca_certs=/path/ca.crt"
    )
    mismatch = _raised_while_verifying("IP address mismatch, certificate is not valid for '10.0.0.9'.")
    assert redis_failure(mismatch, redis_url="rediss://:s3cret@10.0.0.9:6380/0") == (
        "the TLS certificate of Redis cannot be verified: "
        "IP address mismatch, certificate is not valid for '10.0.0.9'."
    )


def test_other_failures_are_their_first_line() -> None:
    error = RedisConnectionError("Error 111 connecting to h:6379. Connection refused.\nmore")
    assert (
        redis_failure(error, redis_url="redis://h:6379/0")
        == "Error 111 connecting to h:6379. Connection refused."
    )
