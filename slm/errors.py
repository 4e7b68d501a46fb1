"""Exceptions shared by every layer: each carries a message and, where one exists, the next step for the user."""

from __future__ import annotations


class SlmError(Exception):
    """Base class: `str(err)` is the message, `err.hint` what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(SlmError, ValueError):
    """The caller passed something slm refuses to store or search; nothing was written."""


class Forbidden(SlmError):
    """The caller may not do this (another's memory, a revoked token); nothing was changed."""


class NotFound(SlmError, KeyError):
    """No such memory, agent, cluster or contradiction; `what` says which, so each face can say where to look."""

    def __init__(self, message: str, hint: str | None = None, *, what: str | None = None) -> None:
        super().__init__(message, hint)
        self.what = what

    def __str__(self) -> str:  # KeyError would repr() the message
        return SlmError.__str__(self)


class SchemaError(SlmError):
    """The database cannot be used by this version of slm (too new, or damaged)."""


class StorageError(SlmError):
    """The database backend failed: its driver or an extension is missing or unusable, or the database said no."""


class StoreBusy(StorageError):
    """Other processes held the store's write lock for longer than a writer waits; nothing was written."""


class NoStore(StorageError):
    """There is no database where the caller pointed (and it asked not to create one)."""


class ModelError(SlmError):
    """The embedding model or the recall ranker is missing, cannot be loaded, or does not match the database."""
