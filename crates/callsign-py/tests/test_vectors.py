"""The shared vectors (tests/vectors/*.json, SPEC.md §12) through the Python API.

canonical.json → ``canonicalize``; keys.json → ``inspect_key``, ``inspect_key_set``,
``derive_key`` and ``Signer``; signing.json → ``Signer.sign_json`` and, for every case,
``Signer.sign`` of the same args as Python values (the encoder must reach the same
canonical args and signature). verify.json is the verifiers' (Rust, wasm, Convex):
this package only signs.
"""

import base64
import json
import struct
from typing import Any, Dict, List, Union

import pytest

from conftest import load_vectors
from convex_callsign import CallsignError, Signer, canonicalize, derive_key, inspect_key, inspect_key_set

CANONICAL = load_vectors("canonical.json")
KEYS = load_vectors("keys.json")
SIGNING = load_vectors("signing.json")


def ids(cases: List[Dict[str, Any]]) -> List[str]:
    return [c["name"] for c in cases]


def text_of(case: Dict[str, Any], field: str = "input") -> Union[str, bytes]:
    """A case's input: the text, a repeated unit, or raw bytes (input_hex)."""
    if f"{field}_repeat" in case:
        r = case[f"{field}_repeat"]
        return r["prefix"] + r["unit"] * r["count"] + r["suffix"]
    if f"{field}_hex" in case:
        return bytes.fromhex(case[f"{field}_hex"])
    return case[field]


def limits(case: Dict[str, Any]) -> Dict[str, int]:
    return {"max_bytes": case["limits"]["max_bytes"], "max_depth": case["limits"]["max_depth"]}


def code_of(call: Any) -> str:
    with pytest.raises(CallsignError) as raised:
        call()
    return raised.value.code


# --- canonical.json -------------------------------------------------------------------


@pytest.mark.parametrize("case", CANONICAL["valid"], ids=ids(CANONICAL["valid"]))
def test_canonical_valid(case: Dict[str, Any]) -> None:
    text = text_of(case)
    assert canonicalize(text, **limits(case)) == case["canonical"]
    # The same text as UTF-8 bytes.
    assert canonicalize(text.encode(), **limits(case)) == case["canonical"]


@pytest.mark.parametrize("case", CANONICAL["invalid"], ids=ids(CANONICAL["invalid"]))
def test_canonical_invalid(case: Dict[str, Any]) -> None:
    text = text_of(case)
    if isinstance(text, bytes):
        # Not UTF-8: a str API cannot receive it, the bytes API refuses it.
        with pytest.raises(UnicodeDecodeError):
            text.decode("utf-8")
    assert code_of(lambda: canonicalize(text, **limits(case))) == case["error"]


# --- keys.json ------------------------------------------------------------------------


@pytest.mark.parametrize("case", KEYS["valid"], ids=ids(KEYS["valid"]))
def test_key_valid(case: Dict[str, Any]) -> None:
    info = inspect_key(case["key"])
    assert info["kid"] == case["kid"]
    assert info["root"] is (case["audience"] is None)
    if case["audience"] is None:
        assert info["audience"] is None
    else:
        assert info["audience"] == {
            "bytes": len(case["audience"].encode()),
            "fingerprint": case["audience_fingerprint"],
        }
        # A derived key signs for its own audience.
        assert Signer(case["key"], audience=case["audience"]).kid == case["kid"]
    # (A key string is never written back by this API: only derive_key and
    # generate_key return one, so `canonical` has nothing to check here.)


@pytest.mark.parametrize("case", KEYS["invalid"], ids=ids(KEYS["invalid"]))
def test_key_invalid(case: Dict[str, Any]) -> None:
    assert code_of(lambda: inspect_key(case["key"])) == case["error"]
    assert code_of(lambda: Signer(case["key"], audience="https://happy-otter-123.convex.cloud")) == case["error"]


@pytest.mark.parametrize("case", KEYS["derive"], ids=ids(KEYS["derive"]))
def test_derive(case: Dict[str, Any]) -> None:
    assert derive_key(case["root"], case["audience"]) == case["derived"]


@pytest.mark.parametrize("case", KEYS["keysets"], ids=ids(KEYS["keysets"]))
def test_key_set(case: Dict[str, Any]) -> None:
    if "error" in case:
        assert code_of(lambda: inspect_key_set(case["keys"])) == case["error"]
    else:
        assert inspect_key_set(case["keys"]) == case["kids"]


# --- signing.json ---------------------------------------------------------------------


def signer_for(case: Dict[str, Any]) -> Signer:
    return Signer(case["key"], audience=case["audience"], envelope_field=case["envelope_field"], **limits(case))


def python_values(args_json: str) -> Any:
    """Convex JSON → the Python values the convex client takes (every number a float)."""
    convex_int64 = pytest.importorskip("convex").ConvexInt64

    def special(obj: Dict[str, Any]) -> Any:
        if len(obj) == 1:
            (name, value), = obj.items()
            if name == "$integer":
                return convex_int64(struct.unpack("<q", base64.b64decode(value))[0])
            if name == "$bytes":
                return base64.b64decode(value)
            if name == "$float":
                return struct.unpack("<d", base64.b64decode(value))[0]
        return obj

    return json.loads(args_json, parse_int=float, object_hook=special)


@pytest.mark.parametrize("case", SIGNING["cases"], ids=ids(SIGNING["cases"]))
def test_signing_case(case: Dict[str, Any]) -> None:
    signer = signer_for(case)
    at = {"now": case["ts"], "nonce": case["nonce"]}
    assert signer.sign_json(case["function"], case["args"], **at) == case["signed_args"]

    # The same args as Python values: the encoder must reach the same canonical args.
    signed = signer.sign(case["function"], python_values(case["args"]), **at)
    envelope = signed[case["envelope_field"]]
    assert envelope == {
        "kid": inspect_key(case["key"])["kid"],
        "nonce": case["nonce"],
        "sig": case["sig"],
        "ts": float(case["ts"]),
        "v": 1.0,
    }
    assert all(type(envelope[n]) is float for n in ("ts", "v")), "ts and v go as float64"
    # The canonical function name, as the gateway's args carry it.
    gateway = signer.gateway_args(case["function"], python_values(case["args"]), **at)
    assert gateway["function"] == case["canonical_function"]
    assert gateway[case["envelope_field"]]["sig"] == case["sig"]


@pytest.mark.parametrize("case", SIGNING["invalid"], ids=ids(SIGNING["invalid"]))
def test_signing_invalid(case: Dict[str, Any]) -> None:
    def sign() -> None:
        signer_for(case).sign_json(case["function"], case["args"], now=case["ts"], nonce=case["nonce"])

    assert code_of(sign) == case["error"]


@pytest.mark.parametrize("case", SIGNING["functions"], ids=ids(SIGNING["functions"]))
def test_function_names(case: Dict[str, Any]) -> None:
    signer = Signer("csk1_k1_" + "00" * 32, audience="https://happy-otter-123.convex.cloud")
    if "error" in case:
        assert code_of(lambda: signer.sign_json(case["input"], "{}")) == case["error"]
    else:
        assert signer.gateway_args(case["input"], {})["function"] == case["canonical"]


def test_every_file_has_cases() -> None:
    counts = [len(CANONICAL["valid"]), len(CANONICAL["invalid"]), len(KEYS["valid"]), len(SIGNING["cases"])]
    assert all(n > 0 for n in counts), counts
