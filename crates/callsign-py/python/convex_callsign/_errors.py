"""The exception every callsign refusal raises."""

from typing import Tuple

__all__ = ["CallsignError"]


class CallsignError(Exception):
    """A call, key or value that callsign refuses.

    ``code`` is a stable string, the same in every callsign runtime (Rust, the npm
    package, Convex): ``malformed``, ``too_large``, ``invalid_key``, ``unknown_key``,
    ``bad_signature``, ``expired``, ``not_yet_valid``, ``replayed``, ``unsupported``,
    ``not_allowed``, ``misconfigured`` or ``unavailable``. ``message`` says what to fix; it never
    holds key material and quotes at most 64 characters of any input.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> Tuple[type, Tuple[str, str]]:
        return (type(self), (self.code, self.message))


# Shown (and pickled) as convex_callsign.CallsignError, where users import it from.
CallsignError.__module__ = "convex_callsign"
