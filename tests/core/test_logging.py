import io
import json
import logging

import pytest

from opmaestro.core.logging import RedactingJsonFormatter, bind_request_id, redact, unbind_request_id


@pytest.mark.parametrize(
    ("raw", "leak"),
    [
        ("user jane.doe+crm@example.co.uk signed in", "jane.doe+crm@example.co.uk"),
        ("call +1 (415) 555-0199 tomorrow", "555-0199"),
        ("call 415-555-0199", "415-555-0199"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ('{"password": "correct horse battery"}', "correct"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("cookie: opm_session=AbC123xyz", "AbC123xyz"),
        ("token opm_pat_9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ("jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJzdWIiOiIxIn0"),
    ],
)
def test_personal_data_and_secrets_are_redacted(raw, leak):
    assert leak not in redact(raw)


def test_ordinary_text_is_left_alone():
    text = "job 0193a5f0-7c1e-7d3a-9b1f-2f6c0a1b2c3d done in 12.5 ms, status 200"
    assert redact(text) == text


def test_log_lines_are_json_with_request_id_and_redacted():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter("{message}", style="{", timestamp="time"))
    logger = logging.getLogger("tests.logging.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = bind_request_id("req-1")
    try:
        logger.warning("mail to %s failed", "ann@example.com", extra={"detail": "phone +44 20 7946 0958"})
        try:
            raise ValueError("password=swordfish-123")
        except ValueError:
            logger.exception("boom")
    finally:
        unbind_request_id(token)
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "mail to [email] failed"
    assert first["detail"] == "phone [phone]"
    assert first["request_id"] == "req-1" and first["level"] == "WARNING" and "time" in first
    assert "swordfish" not in second["exc_info"] and "ValueError" in second["exc_info"]


@pytest.mark.parametrize("library", ["httpx", "httpcore", "stripe"])
def test_client_libraries_do_not_log_each_call(library):
    # httpx logs every address it calls (a webhook URL may hold its receiver's secret) and stripe
    # the provider's error text; only their warnings and errors reach our log.
    from opmaestro.core.logging import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        assert not logging.getLogger(library).isEnabledFor(logging.INFO)
        assert logging.getLogger(library).isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
