"""Control protocol: exact lines, strict validation, and an answer for every input line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from show_samples import SNAPSHOT  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.control import (
    MAX_REQUEST_LINE,
    ControlProtocolError,
    Request,
    Response,
    serve_line,
)
from xfrmctl.state.codec import JsonValue, to_json
from xfrmctl.state.query import (
    QueryError,
    ShowIkeSa,
    ShowIpsecStatistics,
    answer,
    parse_query,
)


def test_request_encoding_is_one_compact_json_line():
    request = Request(id=7, command=("show", "security", "ike", "security-associations"))
    line = request.encode()
    assert line == (
        b'{"id":7,"command":["show","security","ike","security-associations"],"args":{}}\n'
    )
    assert Request.decode(line) == request


def test_response_encodings():
    assert Response.success(1, {"a": [1]}).encode() == b'{"id":1,"ok":true,"result":{"a":[1]}}\n'
    assert Response.failure("x", "not-found", "no such SA").encode() == (
        b'{"id":"x","ok":false,"error":{"code":"not-found","message":"no such SA"}}\n'
    )
    assert Response.decode(b'{"id":1,"ok":true,"result":null}\n') == Response.success(1, None)
    failure = Response.decode(b'{"id":null,"ok":false,"error":{"code":"c","message":"m"}}')
    assert failure.id is None
    assert failure.error is not None
    assert (failure.error.code, failure.error.message) == ("c", "m")


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        (b"not json\n", "parse-error", None),
        (b"\xff\xfe\n", "parse-error", "line is not UTF-8"),
        (b"[1]\n", "invalid-request", "request must be a JSON object"),
        (b'{"command":["show"]}\n', "invalid-request", "request has no id"),
        (
            b'{"id":true,"command":["show"]}\n',
            "invalid-request",
            "id must be an integer or a string",
        ),
        (b'{"id":1,"command":[]}\n', "invalid-request", None),
        (b'{"id":1,"command":["show",""]}\n', "invalid-request", None),
        (b'{"id":1,"command":"show"}\n', "invalid-request", None),
        (b'{"id":1,"command":["show"],"args":[]}\n', "invalid-request", "args must be an object"),
        (
            b'{"id":1,"command":["show"],"extra":1}\n',
            "invalid-request",
            "unknown key 'extra' in request",
        ),
        (b'{"id":1,"command":["show"],"args":{"x":NaN}}\n', "parse-error", None),
        (b"[" * 100000 + b"]" * 100000, "line-too-long", None),
        (b"[" * 5000 + b"]" * 5000, "parse-error", "JSON nested too deeply"),
    ],
)
def test_malformed_requests_get_a_clear_error(line, code, message):
    with pytest.raises(ControlProtocolError) as info:
        Request.decode(line)
    assert info.value.code == code
    if message is not None:
        assert info.value.message == message


def test_request_line_limit():
    padding = "x" * (MAX_REQUEST_LINE - 60)
    with pytest.raises(ControlProtocolError) as info:
        Request.decode(
            json.dumps({"id": 1, "command": ["show"], "args": {"p": padding * 2}}).encode()
        )
    assert info.value.code == "line-too-long"


def _daemon(request: Request) -> JsonValue:
    query = parse_query(request.command, request.args)
    return to_json(answer(SNAPSHOT, query))


def test_serve_line_answers_a_show():
    line = Request(id=3, command=ShowIkeSa.command, args={"index": 6}).encode()
    response = Response.decode(serve_line(line, _daemon))
    assert response.ok
    assert response.id == 3
    assert response.result == to_json(answer(SNAPSHOT, ShowIkeSa(index=6)))


@pytest.mark.parametrize(
    ("command", "args", "code", "message"),
    [
        (("show", "nothing"), {}, "unknown-command", "unknown command: show nothing"),
        (
            ShowIkeSa.command,
            {"index": "6"},
            "invalid-argument",
            "show security ike security-associations: index: expected an integer",
        ),
        (
            ShowIkeSa.command,
            {"bogus": 1},
            "invalid-argument",
            "show security ike security-associations: <root>: unknown field 'bogus' in ShowIkeSa",
        ),
        (
            ShowIkeSa.command,
            {"peer": "not-an-address"},
            "invalid-argument",
            "show security ike security-associations: <root>: "
            "'not-an-address' does not appear to be an IPv4 or IPv6 address",
        ),
        (
            ShowIkeSa.command,
            {"family": "ipx"},
            "invalid-argument",
            "show security ike security-associations: family: expected one of 'inet', 'inet6'",
        ),
        (
            ShowIpsecStatistics.command,
            {"index": 9},
            "not-found",
            "no IPsec SA with index 9",
        ),
        (
            ("clear", "security", "ipsec", "statistics"),
            {},
            "unsupported",
            "clear security ipsec statistics is not a show command",
        ),
    ],
)
def test_serve_line_refusals(command, args, code, message):
    response = Response.decode(
        serve_line(Request(id=1, command=command, args=args).encode(), _daemon)
    )
    assert response.error is not None
    assert (response.id, response.error.code, response.error.message) == (1, code, message)


def test_serve_line_hides_handler_crashes():
    def broken(request: Request) -> JsonValue:
        raise RuntimeError("secret detail")

    line = serve_line(Request(id=1, command=("show",)).encode(), broken)
    assert line == (
        b'{"id":1,"ok":false,"error":{"code":"internal-error",'
        b'"message":"internal error (see the daemon log)"}}\n'
    )


def test_serve_line_reports_the_id_of_an_invalid_request():
    line = serve_line(b'{"id":"a","command":5}\n', _daemon)
    response = Response.decode(line)
    assert response.id == "a"
    assert response.error is not None
    assert response.error.code == "invalid-request"


def test_query_error_is_a_value_error():
    assert isinstance(QueryError("x", "y"), ValueError)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "id": st.integers() | st.text(max_size=5),
                "command": st.lists(st.text(max_size=25), max_size=5),
            },
            optional={
                "args": st.dictionaries(
                    st.sampled_from(["peer", "index", "level", "family", "x"]),
                    st.none() | st.integers() | st.text(max_size=12),
                )
            },
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_every_line_gets_exactly_one_valid_response(line):
    out = serve_line(line, _daemon)
    assert out.endswith(b"\n")
    assert out.count(b"\n") == 1
    Response.decode(out)
