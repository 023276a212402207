"""Signed server-to-server calls into Convex, for Python.

callsign signs a call to a Convex function (function name, args, target deployment,
timestamp, nonce) with HMAC-SHA256 and adds one field, ``_callsign``, to its args; the
Convex function verifies it with ``convex-callsign/convex``. Everything here runs the
callsign Rust core: Python never canonicalizes, encodes or hashes.

    from convex import ConvexClient
    from convex_callsign import Signer

    client = ConvexClient(os.environ["CONVEX_URL"])
    signer = Signer(os.environ["CALLSIGN_KEY"], audience=os.environ["CONVEX_URL"])
    client.mutation("messages:send", signer.sign("messages:send", {"body": "hello"}))

``Signer.sign`` takes the values the ``convex`` client takes (None, bool, int, float,
str, bytes, list, dict, ``convex.ConvexInt64``) and encodes them as the client does.
"""

from ._errors import CallsignError
from ._native import (
    DEFAULT_ENVELOPE_FIELD,
    ERROR_CODES,
    Signer,
    __version__,
    canonicalize,
    derive_key,
    generate_key,
    inspect_key,
    inspect_key_set,
    to_convex_json,
)

__all__ = [
    "DEFAULT_ENVELOPE_FIELD",
    "ERROR_CODES",
    "CallsignError",
    "Signer",
    "__version__",
    "canonicalize",
    "derive_key",
    "generate_key",
    "inspect_key",
    "inspect_key_set",
    "to_convex_json",
]
