"""JSON logs with the request id, and redaction of personal data and secrets."""

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bBearer\s+[\w.~+/=-]+", re.IGNORECASE), "Bearer [redacted]"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), "[jwt]"),
    (re.compile(r"\bopm_[a-z]+_[\w-]+"), "[token]"),
    (
        re.compile(
            r"""(?P<key>password|passwd|secret|token|api[_-]?key|authorization|cookie|session|csrf)"""
            r"""(?P<sep>["']?\s*[:=]\s*["']?)[^\s"',;&]+""",
            re.IGNORECASE,
        ),
        r"\g<key>\g<sep>[redacted]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w-])\+\d[\d\s().-]{6,}\d(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w.-])\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?![\w-])"), "[phone]"),
]


def redact(text: str) -> str:
    """Replace emails, phone numbers, passwords, tokens and cookies with placeholders."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str | None) -> Any:
    return _request_id.set(request_id)


def unbind_request_id(token: Any) -> None:
    _request_id.reset(token)


class RedactingJsonFormatter(JsonFormatter):
    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("color_message", None)
        log_record["level"] = record.levelname
        log_record["logger"] = record.name
        if request_id := current_request_id():
            log_record["request_id"] = request_id
        for key, value in list(log_record.items()):
            if isinstance(value, str):
                log_record[key] = redact(value)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's API
        formatted = super().formatException(ei)
        return redact(formatted if isinstance(formatted, str) else "\n".join(formatted))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJsonFormatter("{message}", style="{", timestamp="time"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "celery"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Client libraries log every outgoing call at INFO: httpx the full address (a webhook URL may
    # carry its receiver's secret), stripe the provider's own error text (which can name a key or a
    # customer). Their warnings and errors still come through.
    for name in ("httpx", "httpcore", "stripe"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
