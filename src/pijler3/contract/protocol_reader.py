"""Reading typed values from the nested tables of a protocol file.

Every accessor names the full key (``risk.max_mean_risk``) in the error it raises, so
that a malformed or incomplete protocol file is refused with a message saying where.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pijler3.contract.errors import ProtocolError


class Reader:
    """Reads typed values from nested TOML tables, naming the full key on failure."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ProtocolError:
        return ProtocolError(
            f"{self.source}: key '{key}' {problem}.",
            hint="Correct the protocol file and run 'pijler3 protocol check' on it.",
        )

    def only(self, data: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        """Refuse keys this format does not know: a typo must not pass silently."""
        for key in data:
            if key not in allowed:
                full = f"{path}.{key}" if path else key
                raise self.fail(full, "is not a key of a protocol file (a typo?)")

    def table(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        full = f"{path}.{key}" if path else key
        if key not in data:
            raise self.fail(full, "is missing")
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(full, "must be a table")
        return value

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in data:
            if default is ...:
                raise self.fail(full, "is missing")
            return default
        value = data[key]
        # bool is an int in Python: refuse true/false where a number is asked.
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(full, "must be a number")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(full, f"must be of type {names}")
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str, *, empty: bool = False) -> str:
        value: str = self.get(data, key, path, str, "" if empty else ...)
        if not empty and not value.strip():
            raise self.fail(f"{path}.{key}" if path else key, "must not be empty")
        return value

    def texts(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = self.get(data, key, path, list)
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"{path}.{key}", "must be a list of strings")
        return tuple(value)

    def positive(self, data: Mapping[str, Any], key: str, path: str) -> int:
        value: int = self.get(data, key, path, int)
        if value <= 0:
            raise self.fail(f"{path}.{key}", "must be a positive whole number")
        return value

    def choice(self, data: Mapping[str, Any], key: str, path: str, options: tuple[str, ...]) -> Any:
        value = self.text(data, key, path)
        if value not in options:
            raise self.fail(f"{path}.{key}", f"must be one of {', '.join(options)}")
        return value


def read_date(r: Reader, data: Mapping[str, Any], key: str, path: str) -> dt.date:
    value = r.get(data, key, path, (dt.date, dt.datetime))
    if isinstance(value, dt.datetime):
        raise r.fail(f"{path}.{key}", "must be a date (YYYY-MM-DD), not a date-time")
    assert isinstance(value, dt.date)
    return value
