"""The CLI's two kinds of failure: what the lab refused (exit 1) and bad usage (exit 2)."""

from __future__ import annotations


class CLIError(Exception):
    """Printed as ``error: <message>`` (the server's message where it sent one)."""

    exit_code = 1

    def __init__(self, message: str, reason: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status


class UsageError(CLIError):
    exit_code = 2
