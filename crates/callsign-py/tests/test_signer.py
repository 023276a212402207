"""The Python API itself: configuration, errors with stable codes, secrets kept out of sight."""

import pickle
import re
import threading
from typing import Any, Callable, List

import pytest

from conftest import REPO

import convex_callsign
from convex_callsign import (
    DEFAULT_ENVELOPE_FIELD,
    ERROR_CODES,
    CallsignError,
    Signer,
    canonicalize,
    derive_key,
    generate_key,
    inspect_key,
)

AUDIENCE = "https://happy-otter-123.convex.cloud"
SECRET = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
KEY = f"csk1_k1_{SECRET}"
NOW = {"now": 1_700_000_000_000, "nonce": "00112233445566778899aabbccddeeff"}


def code_of(call: Callable[[], Any]) -> str:
    with pytest.raises(CallsignError) as raised:
        call()
    return raised.value.code


def test_error_codes_are_spec_section_9() -> None:
    """ERROR_CODES is SPEC.md §9's table, in its order (the core's ErrorCode::ALL)."""
    spec = (REPO / "SPEC.md").read_text(encoding="utf-8")
    section = spec[spec.index("\n## 9. ") : spec.index("\n## 10. ")]
    table = tuple(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert len(table) >= 11, table
    assert ERROR_CODES == table
    assert DEFAULT_ENVELOPE_FIELD == "_callsign"
    assert re.fullmatch(r"\d+\.\d+\.\d+", convex_callsign.__version__)


def test_callsign_error_is_an_exception_with_code_and_message() -> None:
    err = CallsignError("replayed", "already accepted")
    assert isinstance(err, Exception)
    assert (err.code, err.message, str(err)) == ("replayed", "already accepted", "replayed: already accepted")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is CallsignError and (again.code, again.message) == (err.code, err.message)
    with pytest.raises(CallsignError) as raised:
        Signer("nope", audience=AUDIENCE)
    assert raised.value.code == "invalid_key" and raised.value.code in ERROR_CODES
    assert str(raised.value).startswith("invalid_key: ")


def test_configuration_errors() -> None:
    assert code_of(lambda: Signer(KEY, audience="")) == "malformed"
    assert code_of(lambda: Signer(KEY, audience="https://a b")) == "malformed"
    assert code_of(lambda: Signer(KEY, audience=AUDIENCE, envelope_field="my-envelope")) == "malformed"
    derived = derive_key(KEY, AUDIENCE)
    assert code_of(lambda: Signer(derived, audience="https://other-deployment-1.convex.cloud")) == "invalid_key"
    with pytest.raises(TypeError):
        Signer(None, audience=AUDIENCE)  # type: ignore[arg-type]


def test_the_audience_loses_a_trailing_slash() -> None:
    signer = Signer(KEY, audience=AUDIENCE + "/")
    assert signer.audience == AUDIENCE
    assert signer.sign_json("m:f", "{}", **NOW) == Signer(KEY, audience=AUDIENCE).sign_json("m:f", "{}", **NOW)


def test_a_derived_key_signs_as_its_root_does() -> None:
    derived = derive_key(KEY, AUDIENCE)
    assert inspect_key(derived) == {"kid": "k1", "root": False, "audience": {"bytes": 36, "fingerprint": "b0a55697"}}
    by_root = Signer(KEY, audience=AUDIENCE).sign("messages:send", {"body": "hi"}, **NOW)
    by_derived = Signer(derived, audience=AUDIENCE).sign("messages:send", {"body": "hi"}, **NOW)
    assert by_root == by_derived


def test_sign_fresh_nonce_and_clock() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    a = signer.sign("m:f", {"x": 1})["_callsign"]
    b = signer.sign("m:f", {"x": 1})["_callsign"]
    assert a["nonce"] != b["nonce"] and re.fullmatch(r"[0-9a-f]{32}", a["nonce"])
    import time

    assert abs(a["ts"] - time.time() * 1000) < 60_000
    assert a["ts"] == int(a["ts"])


def test_now_and_nonce_are_checked() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    nonce = NOW["nonce"]
    for now in (-1, 2**53, 1.5, float("nan"), True, 2**70):
        assert code_of(lambda: signer.sign("m:f", {}, now=now, nonce=nonce)) == "malformed", now
    assert signer.sign("m:f", {}, now=0, nonce=nonce)["_callsign"]["ts"] == 0.0
    assert signer.sign("m:f", {}, now=1.7e12, nonce=nonce)["_callsign"]["ts"] == 1.7e12
    assert signer.sign("m:f", {}, now=2**53 - 1, nonce=nonce)["_callsign"]["ts"] == float(2**53 - 1)
    for bad in ("", "00112233", "0011223344556677889900aabbccddeeFF", "x" * 32):
        assert code_of(lambda: signer.sign("m:f", {}, now=1, nonce=bad)) == "malformed", bad
    assert code_of(lambda: signer.sign("m:f", {}, now="1")) == "malformed"  # type: ignore[arg-type]


def test_envelope_field_and_limits() -> None:
    signer = Signer(KEY, audience=AUDIENCE, envelope_field="auth", max_bytes=300, max_depth=4)
    assert signer.envelope_field == "auth"
    signed = signer.sign("m:f", {"a": [[[1]]]}, **NOW)  # 4 levels: the args object and 3 lists
    assert set(signed) == {"a", "auth"}
    assert code_of(lambda: signer.sign("m:f", {"a": [[[[1]]]]})) == "malformed"
    assert code_of(lambda: signer.sign("m:f", {"auth": 1})) == "malformed"
    assert code_of(lambda: signer.sign("m:f", {"a": "x" * 300})) == "too_large"
    # The signed args (envelope added) must fit too.
    assert code_of(lambda: signer.sign("m:f", {"a": "x" * 150})) == "too_large"
    assert code_of(lambda: Signer(KEY, audience=AUDIENCE).sign("m:f", {"_callsign": {}})) == "malformed"


def test_sign_json_takes_str_or_utf8_bytes() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    text = signer.sign_json("messages:send", '{"body": "h\\u00e9", "n": 1.0}', **NOW)
    assert signer.sign_json("messages:send", '{"body":"hé","n":1}'.encode(), **NOW) == text
    assert text.startswith('{"_callsign":{"kid":"k1","nonce":"00112233445566778899aabbccddeeff","sig":"')
    assert text.endswith(',"ts":1700000000000,"v":1},"body":"hé","n":1}')
    assert code_of(lambda: signer.sign_json("m:f", b'{"a":"\xff"}')) == "malformed"
    assert code_of(lambda: signer.sign_json("m:f", '{"a":"\ud800"}')) == "malformed"
    assert code_of(lambda: signer.sign_json("m:f", "[1]")) == "malformed"
    with pytest.raises(TypeError):
        signer.sign_json("m:f", {"a": 1})  # type: ignore[arg-type]


def test_sign_and_sign_json_agree() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    signed = signer.sign("messages:send", {"body": "hi", "n": 2}, **NOW)
    assert signed["_callsign"]["sig"] in signer.sign_json("messages:send", '{"n":2,"body":"hi"}', **NOW)


def test_gateway_args() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    args = signer.gateway_args("admin.js:setOpen", {"open": True}, **NOW)
    assert list(args) == ["function", "args", "_callsign"]
    assert args["function"] == "admin:setOpen" and args["args"] == {"open": True}
    # Signed for the internal function itself, with its own args.
    assert args["_callsign"] == signer.sign("admin:setOpen", {"open": True}, **NOW)["_callsign"]
    assert code_of(lambda: signer.gateway_args("admin:", {})) == "malformed"


def test_canonicalize_limits() -> None:
    assert canonicalize('{"b":1.0,"a":-0}') == '{"a":{"$float":"AAAAAAAAAIA="},"b":1}'
    assert code_of(lambda: canonicalize('{"a":1}', max_bytes=3)) == "too_large"
    assert code_of(lambda: canonicalize('{"a":[[]]}', max_depth=2)) == "malformed"


def test_generate_key() -> None:
    key = generate_key("prod")
    assert re.fullmatch(r"csk1_prod_[0-9a-f]{64}", key)
    assert generate_key("prod") != key
    # Key ids (SPEC.md §6.1): 1 to 64 of A-Z a-z 0-9 . -
    for kid in ("", "bad_kid", "k" * 65, "é"):
        assert code_of(lambda: generate_key(kid)) == "invalid_key", kid


# --- Secrets ---------------------------------------------------------------------------


def secret_runs(secret: str) -> List[str]:
    """Every 16-digit run of `secret`: none may appear in any output."""
    return [secret[i : i + 16] for i in range(0, len(secret) - 15)]


def assert_no_secret(text: str, secret: str = SECRET) -> None:
    for run in secret_runs(secret):
        assert run not in text, f"secret digits {run} in {text!r}"


def test_repr_and_str_never_show_the_key() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    for text in (repr(signer), str(signer), repr(Signer(derive_key(KEY, AUDIENCE), audience=AUDIENCE))):
        assert_no_secret(text)
        assert_no_secret(text, derive_key(KEY, AUDIENCE).split("_")[2].split("@")[0])
    assert repr(signer) == "Signer(kid='k1', audience='https://happy-otter-123.convex.cloud')"
    assert not hasattr(signer, "__dict__")
    assert [a for a in dir(signer) if "key" in a.lower() or "secret" in a.lower()] == []
    with pytest.raises(TypeError):
        pickle.dumps(signer)


MANGLED = [
    f"csk1_k1_{SECRET}x",
    f"csk1_k1_{SECRET[:-2]}",
    f"csk1_k1_{SECRET.upper()}",
    f"csk1_k 1_{SECRET}",
    f"csk1d_k1_{SECRET}",
    f"csk1d_k1_{SECRET}@https://a,b",
    f"csk1_k1_{SECRET}csk1_k2_{SECRET}",
    f"csk1d_k1_{SECRET}@{AUDIENCE}csk1d_k2_{SECRET}@{AUDIENCE}",
    f"{SECRET}",
    f"  csk1_k1_{SECRET}\u00a0",
]


@pytest.mark.parametrize("key", MANGLED, ids=range(len(MANGLED)))
def test_errors_about_keys_never_show_them(key: str) -> None:
    calls: List[Callable[[], Any]] = [
        lambda: Signer(key, audience=AUDIENCE),
        lambda: inspect_key(key),
        lambda: derive_key(key, AUDIENCE),
        lambda: convex_callsign.inspect_key_set(f"{KEY},{key}"),
    ]
    for call in calls:
        with pytest.raises(CallsignError) as raised:
            call()
        assert raised.value.code in ("invalid_key", "malformed")
        for text in (str(raised.value), repr(raised.value), raised.value.message):
            assert_no_secret(text)


def test_signing_errors_never_show_the_key() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    for call in (
        lambda: signer.sign("m:", {}),
        lambda: signer.sign("m:f", {"$x": SECRET}),
        lambda: signer.sign_json("m:f", "{" + SECRET),
    ):
        with pytest.raises(CallsignError) as raised:
            call()
        # (An arg the caller passes may of course be quoted, cut to 64 characters; the
        # signer's own key never is.)
        assert "csk1" not in str(raised.value)


def test_one_signer_from_many_threads() -> None:
    signer = Signer(KEY, audience=AUDIENCE)
    nonces: List[str] = []
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for i in range(200):
                nonces.append(signer.sign("m:f", {"i": i, "s": "x" * 1000})["_callsign"]["nonce"])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(nonces)) == 800

