"""URIs as they may be shown: no user info, no secret query values (stdlib only).

A tracking URI such as ``https://user:pw@host`` or ``postgresql://me:pw@db/mlflow`` carries
credentials; whatever shows or logs a URI (``GET info``, the MLflow UI link, log lines,
error messages, ``%mllab info``) passes it through here first. The server and the kernel
client both use this module.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "***"
# Query parameters whose values are secrets (``?token=...``, ``&X-Amz-Signature=...``).
SECRET_PARAM = re.compile(
    r"pass|pwd|secret|token|key|auth|sig|credential|session|cookie|bearer", re.IGNORECASE
)
# A URI inside free text: a short scheme, ``://``, then up to white space or a quote. The
# scheme's length is bounded so that a search never rescans long runs of letters.
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s'\"<>`]*")
_PARAM_IN_TEXT = re.compile(r"([?&][A-Za-z0-9_.-]{1,64}=)(?!\*\*\*)[^&\s'\"<>`#]*")


def _query(query: str, hidden: str | None) -> str:
    kept = []
    for pair in query.split("&") if query else []:
        name, eq, _ = pair.partition("=")
        if eq and SECRET_PARAM.search(name):
            if hidden is None:
                continue
            pair = f"{name}={hidden}"
        kept.append(pair)
    return "&".join(kept)


def _split(uri: str) -> tuple[str, bool, str, str, str] | None:
    """``(scheme://, has user info, host[:port], path, ?query#fragment)``; None when
    ``uri`` has no ``://``."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    _, at, host = authority.rpartition("@")
    path, q, query = tail.partition("?")
    return scheme + sep, bool(at), host, path, q + query


def _rebuild(uri: str, hidden: str | None) -> str:
    parts = _split(uri)
    if parts is None:
        return uri
    scheme, has_userinfo, host, path, query = parts
    if has_userinfo and hidden is not None:
        host = hidden + "@" + host
    if query:
        body, hash_, fragment = query[1:].partition("#")
        body = _query(body, hidden)
        query = ("?" + body if body else "") + hash_ + fragment
    return scheme + host + path + query


def redact_uri(uri: str) -> str:
    """``uri`` with its user info and secret query values shown as ``***``."""
    return _rebuild(uri, HIDDEN)


def link_uri(uri: str) -> str:
    """``uri`` fit for a link: its user info and secret query parameters left out (the
    browser asks for credentials itself)."""
    return _rebuild(uri, None)


def redact_text(text: str) -> str:
    """Every URI in ``text`` (a message, a log line, a traceback) redacted, and secret
    query values of URLs without their scheme (``url: /x?token=...``) too."""
    if "://" in text:
        text = _IN_TEXT.sub(lambda m: redact_uri(m.group(0)), text)
    if "=" in text:
        text = _PARAM_IN_TEXT.sub(_hide_param, text)
    return text


def _hide_param(m: re.Match[str]) -> str:
    return m.group(1) + HIDDEN if SECRET_PARAM.search(m.group(1)) else m.group(0)


class RedactingFilter(logging.Filter):
    """Redacts URIs in a record's message and traceback before any handler formats it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Put the redacting filter on ``loggers``, their handlers, the root logger's handlers
    and this package's loggers (records from child loggers reach handlers, not the
    parent's filters)."""
    targets: list[logging.Logger] = [*loggers, logging.getLogger()]
    targets += [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.split(".")[0] == "jupyter_mllab" and isinstance(logger, logging.Logger)
    ]
    for logger in targets:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
