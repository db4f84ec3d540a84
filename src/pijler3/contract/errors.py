"""Errors a user can cause and mend.

Every error the command line shows as a one-line ``Error: …`` derives from
:class:`UserError`. Messages name the file, row and column and say what to do; they
never carry a person's value (INSZ, name, pseudonym).
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, shown without a traceback.

    ``reason`` is a short code for the audit log's refusal record (never data);
    ``recorded`` says the refusal is in the audit log already, so that it is not
    recorded twice.
    """

    exit_code = 1
    default_reason = "refused"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        param: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The library's name of the parameter the error is about (``notice_date``), so
        # that the command line can name the option a person typed; never a value.
        self.param = param
        self.reason = reason or self.default_reason
        self.recorded = False

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class ProtocolError(UserError):
    """The protocol file is malformed or incomplete, or an action is outside its terms."""

    default_reason = "protocol"


class ExtractError(UserError):
    """An incoming extract cannot be read as the data contract says."""

    default_reason = "extract"


class PackageError(UserError):
    """A package could not be opened. Deliberately opaque: the detail is in the audit log."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path}: the package cannot be opened (damaged, not for this key, or not "
            "signed by the expected party).",
            hint="Ask the sender for a new package; the audit log holds the detail.",
            reason="package",
        )
        # open_package and read_manifest record the specific reason themselves.
        self.recorded = True


class GovernanceError(UserError):
    """A governance action was refused, or a governance document does not verify."""
