"""Type stubs of the callsign core's Python face (the Rust module convex_callsign._native)."""

from typing import Any, Dict, List, Mapping, Optional, Tuple, TypedDict, Union, final

__all__ = [
    "DEFAULT_ENVELOPE_FIELD",
    "ERROR_CODES",
    "Signer",
    "__version__",
    "canonicalize",
    "derive_key",
    "generate_key",
    "inspect_key",
    "inspect_key_set",
    "to_convex_json",
]

__version__: str
ERROR_CODES: Tuple[str, ...]
"""Every error code, in SPEC.md §9 order: the values ``CallsignError.code`` takes."""
DEFAULT_ENVELOPE_FIELD: str
"""``"_callsign"``: the args field the envelope goes in unless a signer is told otherwise."""

class _Audience(TypedDict):
    bytes: int
    fingerprint: str

class _KeyInfo(TypedDict):
    """What ``inspect_key`` tells about a key: never its secret, nor a derived key's audience."""

    kid: str
    root: bool
    audience: Optional[_Audience]

@final
class Signer:
    """Signs calls with one key for one deployment.

    ``key`` is a root key (``csk1_…``) or one derived for ``audience``
    (``csk1d_…@<audience>``), e.g. ``os.environ["CALLSIGN_KEY"]``. ``audience`` is the
    deployment URL exactly as its ``CONVEX_CLOUD_URL`` reads (a trailing slash is
    dropped). The limits are those the signed args must respect (a verifier with the
    same limits accepts them).

    Raises ``CallsignError`` (``invalid_key``, ``malformed``) on a bad configuration.
    The key is never shown: not by ``repr``, not in any error.
    """

    def __new__(
        cls,
        key: str,
        audience: str,
        *,
        envelope_field: str = "_callsign",
        max_bytes: int = 1048576,
        max_depth: int = 63,
    ) -> "Signer": ...
    @property
    def kid(self) -> str:
        """The key id calls are signed with."""
    @property
    def audience(self) -> str:
        """The deployment calls are signed for."""
    @property
    def envelope_field(self) -> str:
        """The args field the envelope goes in."""
    def sign(
        self,
        function: str,
        args: Optional[Mapping[str, Any]] = None,
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Signs a call to ``function`` (``"messages:send"``) with ``args``.

        Returns the args to send, for ``ConvexClient.mutation(function, ...)`` or
        ``ConvexHttpClient``: fresh copies of ``args``' values, encoded as the ``convex``
        client encodes them (every ``int`` a ``float``; it must lie within ±2^53, else
        use ``ConvexInt64``), plus the envelope ``{"kid", "nonce", "sig", "ts", "v"}``
        (``ts`` and ``v`` floats) under the envelope field.

        ``now`` (ms since the epoch) and ``nonce`` (32–64 lowercase hex digits) are for
        reproducing a known signature in tests: a reused nonce is a replay.

        Raises ``CallsignError``: ``malformed`` (a value that is not a Convex value, a
        bad function or field name, the envelope field already in the args, nesting
        over ``max_depth``) or ``too_large``.
        """
    def sign_json(
        self,
        function: str,
        args_json: Union[str, bytes],
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
    ) -> str:
        """Signs args given as Convex JSON text; returns the signed args as canonical
        Convex JSON text, for a ``POST /api/mutation`` with ``{"path", "args", "format": "json"}``.
        """
    def gateway_args(
        self,
        function: str,
        args: Optional[Mapping[str, Any]] = None,
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
    ) -> Dict[str, Any]:
        """The args for the gateway (``callsign:runMutation`` and its query and action
        siblings) to run the internal function ``function`` with ``args``, signed for
        that function: ``{"function", "args", "_callsign"}``.
        """

def canonicalize(
    convex_json: Union[str, bytes], *, max_bytes: int = 1048576, max_depth: int = 63
) -> str:
    """The canonical form of args given as Convex JSON text (SPEC.md §2): what a
    signature covers. Raises ``CallsignError`` (``malformed``, ``too_large``)."""

def to_convex_json(
    args: Optional[Mapping[str, Any]], *, max_bytes: int = 1048576, max_depth: int = 63
) -> str:
    """The Convex JSON text of ``args`` as ``Signer.sign`` encodes them (what
    ``convex.convex_to_json`` gives, up to spelling; members in their order)."""

def inspect_key(key: str) -> _KeyInfo:
    """What a key string holds, without its secret. Raises ``CallsignError`` (``invalid_key``)."""

def inspect_key_set(keys: str) -> List[str]:
    """The key ids of a key set (``CALLSIGN_KEYS``), in order. Raises ``CallsignError`` (``invalid_key``)."""

def derive_key(root: str, audience: str) -> str:
    """The key derived from a root key for one deployment (SPEC.md §6.3): give the
    deployment only this key. Raises ``CallsignError``."""

def generate_key(kid: str) -> str:
    """A new root key ``csk1_<kid>_<64 hex>`` (256 bits from the OS). Raises ``CallsignError``."""
