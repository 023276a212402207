"""Python values are encoded exactly as the `convex` client (0.8.1) encodes them.

Checked against the client's own code, for every kind of value it takes:
``convex.convex_to_json`` + ``json.dumps`` (the body ``ConvexHttpClient`` POSTs) and
``convex.values.coerce_args_to_convex`` (what ``ConvexClient.mutation`` hands to its Rust
core). Both must canonicalize to what the signer signs; the values ``sign`` returns must
be what the client would send; and what the client refuses, the signer refuses.
"""

import array
import collections
import enum
import json
import math
import struct
import subprocess
import sys
import types
from decimal import Decimal
from typing import Any, Dict

import pytest

convex = pytest.importorskip("convex")
from convex import ConvexInt64  # noqa: E402
from convex.values import coerce_args_to_convex, convex_to_json  # noqa: E402

from convex_callsign import CallsignError, Signer, canonicalize, to_convex_json  # noqa: E402

AUDIENCE = "https://happy-otter-123.convex.cloud"
KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
NOW = {"now": 1_700_000_000_000, "nonce": "00112233445566778899aabbccddeeff"}


def nest(levels: int) -> Any:
    """`levels` lists, one inside the other, around 1."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def bits(b: bytes) -> float:
    return struct.unpack("<d", b)[0]


class Color(enum.IntEnum):
    RED = 3


class MyFloat(float):
    pass


class MyStr(str):
    pass


class MyDict(dict):  # type: ignore[type-arg]
    pass


class MyList(list):  # type: ignore[type-arg]
    pass


# Every kind of value the client takes (its values.py, checks 1 to 4).
VALID: Dict[str, Any] = {
    "none": None,
    "true": True,
    "false": False,
    "int 0": 0,
    "int 1": 1,
    "int -1": -1,
    "int 2^53": 2**53,
    "int -2^53": -(2**53),
    "int 2^53 - 1": 2**53 - 1,
    "float 0.0": 0.0,
    "float -0.0": -0.0,
    "float 1.5": 1.5,
    "float 0.1": 0.1,
    "float 1e16": 1e16,
    "float 1e21": 1e21,
    "float 1e-7": 1e-7,
    "float 5e-324 (subnormal)": 5e-324,
    "float max": 1.7976931348623157e308,
    "float nan": float("nan"),
    "float -nan": bits(b"\x00\x00\x00\x00\x00\x00\xf8\xff"),
    "float nan with a payload": bits(b"\x01\x00\x00\x00\x00\x00\xf0\x7f"),
    "float inf": math.inf,
    "float -inf": -math.inf,
    "str empty": "",
    "str unicode and escapes": 'hé\u2028\u2029😀/"\\\x01\x1f\x7f\t\n',
    "bytes empty": b"",
    "bytes": b"\x00\x01\xff",
    "bytearray": bytearray(b"\x00\x01"),
    "memoryview": memoryview(b"\x02\x03"),
    "array.array of ints (raw buffer bytes)": array.array("i", [1, 2]),
    "ConvexInt64 5": ConvexInt64(5),
    "ConvexInt64 -1": ConvexInt64(-1),
    "ConvexInt64 max": ConvexInt64(2**63 - 1),
    "ConvexInt64 min": ConvexInt64(-(2**63)),
    "ConvexInt64(True)": ConvexInt64(True),
    "list": [1, "a", None, [], {}],
    "tuple": (1, 2.5),
    "range": range(3),
    "deque": collections.deque([1, 2]),
    "UserList": collections.UserList([1]),
    "dict, nested": {"b": {"a": [{"c": 1}]}, "a": {}},
    "dict with odd but valid field names": {"a$": 1, "": 2, " ": 3, "~": 4, "_id": 5},
    "OrderedDict": collections.OrderedDict([("z", 1), ("a", 2)]),
    "UserDict": collections.UserDict({"k": "v"}),
    "MappingProxyType": types.MappingProxyType({"k": 1}),
    "IntEnum (an int)": Color.RED,
    "float subclass": MyFloat(2.5),
    "str subclass": MyStr("s"),
    "dict subclass": MyDict(x=1),
    "list subclass": MyList([1]),
    "deep nesting within the limit (62 lists)": nest(62),
}


class MyInt64(ConvexInt64):
    pass


# What the client refuses (ValueError or TypeError): the signer refuses it as `malformed`.
INVALID: Dict[str, Any] = {
    "int 2^53 + 1": 2**53 + 1,
    "int -2^53 - 1": -(2**53) - 1,
    "int 2^64": 2**64,
    "int 10^400": 10**400,
    "dict with an int key": {1: "a"},
    "dict with a None key": {None: "a"},
    "field name starting with $": {"$x": 1},
    "field name $integer with a sibling": {"$integer": "AQAAAAAAAAA=", "x": 1},
    "non-ASCII field name": {"é": 1},
    "field name with a newline": {"a\n": 1},
    "field name of 1025 characters": {"k" * 1025: 1},
    "set": {1, 2},
    "frozenset": frozenset(),
    "object()": object(),
    "Decimal": Decimal("1.5"),
    "complex": 1j,
    "a ConvexInt64 subclass (the client checks type(v) is ConvexInt64)": MyInt64(1),
    "a function": len,
}


def client_wire(args: Dict[str, Any]) -> str:
    """The args text ConvexHttpClient POSTs (requests' json=, i.e. json.dumps)."""
    return json.dumps(convex_to_json(args), allow_nan=False)


def same_value(a: Any, b: Any) -> bool:
    """Convex-value equality: floats by bits (NaN, -0.0), ConvexInt64 by value, containers deep."""
    if type(a) is float and type(b) is float:
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, ConvexInt64) and isinstance(b, ConvexInt64):
        return type(a) is type(b) and a.value == b.value
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, str) and isinstance(b, str):
        return str(a) == str(b)  # the client keeps a str subclass; it is the same string
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", VALID.values(), ids=VALID.keys())
def test_encoded_as_the_http_client_encodes(value: Any) -> None:
    args = {"x": value}
    ours = to_convex_json(args)
    assert canonicalize(ours) == canonicalize(client_wire(args))
    # Not just the same canonical form: the same JSON value (numbers compared as numbers;
    # NaN is a $float string on both sides, with the same payload).
    assert json.loads(ours) == json.loads(client_wire(args))


@pytest.mark.parametrize("value", VALID.values(), ids=VALID.keys())
def test_sign_returns_what_the_client_would_send(value: Any) -> None:
    args = {"x": value, "body": "b"}
    signed = Signer(KEY, audience=AUDIENCE).sign("messages:send", args, **NOW)
    envelope = signed.pop("_callsign")
    # The websocket client's coercion of the caller's args gives the same values...
    assert same_value(signed, coerce_args_to_convex(args))
    # ...and is a no-op on the returned ones, which are plain Convex values.
    assert same_value(coerce_args_to_convex(signed), signed)
    # The HTTP client sends them as the same canonical args the signature covers.
    assert canonicalize(client_wire(signed)) == canonicalize(to_convex_json(args))
    assert set(envelope) == {"kid", "nonce", "sig", "ts", "v"}
    assert (envelope["ts"], envelope["v"]) == (1_700_000_000_000.0, 1.0)
    assert type(envelope["ts"]) is float and type(envelope["v"]) is float


@pytest.mark.parametrize("value", INVALID.values(), ids=INVALID.keys())
def test_refused_as_the_client_refuses(value: Any) -> None:
    args = {"x": value} if not isinstance(value, dict) else value
    with pytest.raises((ValueError, TypeError)):
        convex_to_json(args)
    with pytest.raises((ValueError, TypeError)):
        coerce_args_to_convex(args)
    with pytest.raises(CallsignError) as raised:
        Signer(KEY, audience=AUDIENCE).sign("messages:send", args)
    assert raised.value.code == "malformed"


# What the client lets through and Convex (or SPEC.md) refuses: refused before signing.
STRICTER = {
    "a lone surrogate (the HTTP client sends it; Convex refuses it)": {"s": "\ud800"},
    "a lone surrogate in a field name": {"\udc00": 1},
    "__proto__ as a field name (SPEC.md §2.5: it would become a prototype in Convex)": {"__proto__": {"isAdmin": True}},
    "64 levels of lists (over max_depth 63)": {"x": nest(63)},
}


@pytest.mark.parametrize("args", STRICTER.values(), ids=STRICTER.keys())
def test_refused_where_convex_would_refuse_later(args: Dict[str, Any]) -> None:
    with pytest.raises(CallsignError) as raised:
        Signer(KEY, audience=AUDIENCE).sign("messages:send", args)
    assert raised.value.code == "malformed"


def test_a_list_that_contains_itself_is_malformed_not_a_crash() -> None:
    loop: list = []  # type: ignore[type-arg]
    loop.append(loop)
    with pytest.raises(RecursionError):
        convex_to_json({"l": loop})  # the client's own walk has no limit
    for args in ({"l": loop}, {"d": {"l": loop}}):
        with pytest.raises(CallsignError, match="deeper than 63 levels") as raised:
            Signer(KEY, audience=AUDIENCE).sign("m:f", args)
        assert raised.value.code == "malformed"
    mapping: dict = {}  # type: ignore[type-arg]
    mapping["self"] = mapping
    with pytest.raises(CallsignError):
        to_convex_json({"m": mapping})


def test_max_depth_counts_like_the_core() -> None:
    deep = nest(62)
    # The args object is level 1: 62 lists inside it are 63 levels, the default limit.
    to_convex_json({"x": deep})
    with pytest.raises(CallsignError):
        to_convex_json({"x": [deep]})
    assert to_convex_json({"x": [[1]]}, max_depth=3) == '{"x":[[1]]}'
    with pytest.raises(CallsignError):
        to_convex_json({"x": [[1]]}, max_depth=2)
    # A signer's limit: the envelope sits at level 2, so 2 is the least that signs.
    with pytest.raises(CallsignError):
        Signer(KEY, audience=AUDIENCE, max_depth=1).sign("m:f", {})


def test_too_large_is_refused_before_the_whole_value_is_copied() -> None:
    signer = Signer(KEY, audience=AUDIENCE, max_bytes=1000)
    for args in ({"b": b"x" * 2000}, {"s": "x" * 2000}, {"l": [None] * 2000}):
        with pytest.raises(CallsignError) as raised:
            signer.sign("m:f", args)
        assert raised.value.code == "too_large"
    assert "b" in signer.sign("m:f", {"b": b"x" * 500})


def test_args_must_be_a_mapping_and_none_means_no_args() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    for args in ([("a", 1)], "a", 1, ConvexInt64(1)):
        with pytest.raises(CallsignError, match="args must be a dict") as raised:
            signer.sign("m:f", args)  # type: ignore[arg-type]
        assert raised.value.code == "malformed"
    assert set(signer.sign("m:f")) == {"_callsign"}
    assert set(signer.sign("m:f", None)) == {"_callsign"}
    assert canonicalize(to_convex_json(types.MappingProxyType({"a": 1}))) == '{"a":1}'


def test_the_returned_values_are_fresh_copies() -> None:
    inner = {"n": 1}
    args = {"inner": inner, "l": [1], "b": bytearray(b"x")}
    signed = Signer(KEY, audience=AUDIENCE).sign("m:f", args)
    assert signed["inner"] is not inner and signed["inner"] == {"n": 1.0}
    inner["n"] = 2  # changing the caller's objects afterwards changes nothing signed
    assert signed["inner"] == {"n": 1.0}
    assert type(signed["b"]) is bytes
    assert "_callsign" not in args


def test_bool_is_not_int_and_int_is_float() -> None:
    signed = Signer(KEY, audience=AUDIENCE).sign("m:f", {"t": True, "one": 1, "e": Color.RED})
    assert signed["t"] is True
    assert type(signed["one"]) is float and type(signed["e"]) is float
    assert to_convex_json({"t": True, "one": 1}) == '{"t":true,"one":1}'


def test_special_floats_and_int64_on_the_wire() -> None:
    text = to_convex_json(
        {"negz": -0.0, "nan": math.nan, "inf": math.inf, "i": ConvexInt64(-1), "b": b"\x00\x01", "z": 0.0}
    )
    assert json.loads(text) == {
        "negz": {"$float": "AAAAAAAAAIA="},
        "nan": {"$float": "AAAAAAAA+H8="},
        "inf": {"$float": "AAAAAAAA8H8="},
        "i": {"$integer": "//////////8="},
        "b": {"$bytes": "AAE="},
        "z": 0,
    }


def test_convex_int64_is_recognized_without_importing_convex() -> None:
    """The package does not depend on `convex`, and never imports it."""
    code = (
        "import sys, convex_callsign as c\n"
        "s = c.Signer(%r, audience=%r)\n"
        "s.sign('m:f', {'n': 1, 'b': b'x', 'l': [1.5]})\n"
        "c.to_convex_json({'n': 1})\n"
        "assert not any(m == 'convex' or m.startswith('_convex') for m in sys.modules), sorted(sys.modules)\n"
        "try:\n"
        "    s.sign('m:f', {'x': object()})\n"
        "except c.CallsignError as e:\n"
        "    assert e.code == 'malformed'\n"
        "assert '_convex' not in sys.modules\n"
        "from convex import ConvexInt64\n"
        "out = s.sign('m:f', {'i': ConvexInt64(7)})\n"
        "assert type(out['i']) is ConvexInt64 and out['i'].value == 7\n"
        "print('ok')\n"
    ) % (KEY, AUDIENCE)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_changed_convex_int64_is_malformed() -> None:
    n = ConvexInt64(1)
    n.value = 2**64  # the class keeps its range only in its constructor
    with pytest.raises(CallsignError) as raised:
        to_convex_json({"n": n})
    assert raised.value.code == "malformed"


def test_errors_raised_by_the_callers_objects_pass_through() -> None:
    class Broken(collections.abc.Mapping):  # type: ignore[type-arg]
        def __getitem__(self, k: str) -> int:
            raise KeyError(k)

        def __iter__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("broken mapping")

        def __len__(self) -> int:
            return 1

    with pytest.raises(RuntimeError, match="broken mapping"):
        to_convex_json({"m": Broken()})


def test_a_dict_changed_while_it_is_read_is_no_crash() -> None:
    target: Dict[str, Any] = {}

    class Grow(collections.abc.Sequence):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return 1

        def __getitem__(self, i: int) -> int:
            if i > 0:
                raise IndexError(i)
            target["more"] = 1  # the dict being read changes size
            return 1

    target["g"] = Grow()
    assert json.loads(to_convex_json(target)) == {"g": [1]}


def test_messages_quote_at_most_64_characters_and_never_values() -> None:
    secret_like = "s3cr3t" * 100
    for args in ({"x": {secret_like}}, {"x": 10**400}, {secret_like: object()}):
        with pytest.raises(CallsignError) as raised:
            to_convex_json(args)
        assert "s3cr3ts3cr3t" not in str(raised.value)
        assert len(str(raised.value)) < 400, str(raised.value)
