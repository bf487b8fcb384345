"""The masking rules one by one (playground/masking.py): which header names count as credentials, every credential
query name and URL password, values that are already masked, the longest key first, dict keys and tuples, keys pasted
with whitespace, and the HTTP libraries' log lines."""

from __future__ import annotations

import logging

import pytest

from playground import ConfigurationError
from playground.masking import (
    SECRET_HEADERS,
    SecretLogFilter,
    check_api_key,
    contains_secret,
    guard_library_logs,
    is_secret_header,
    mask_header_value,
    mask_headers,
    mask_log_text,
    mask_text,
    mask_url_credentials,
    mask_value,
)

SECRET = "s3cr3t-VALUE-0123456789abcd"


@pytest.mark.parametrize(
    "name",
    ["Authorization", "proxy-authorization", "Cookie", "set-cookie", "X-API-KEY", "api-key", "x-goog-api-key",
     "X-Auth-Token", "x-client-secret", "X-Password", "x-pwd", "X-Credential", "x-session-id", "x-signature",
     "X-Amz-Security-Token", "openai-key"],
)
def test_credential_looking_header_names(name: str) -> None:
    assert is_secret_header(name) and name.lower() in SECRET_HEADERS
    out = mask_headers({name: SECRET})
    assert SECRET[:8] not in out[name] and SECRET[-8:] not in out[name]


@pytest.mark.parametrize("name", ["content-type", "x-ratelimit-remaining-tokens", "user-agent", "x-request-id", "date"])
def test_ordinary_header_names(name: str) -> None:
    assert not is_secret_header(name) and name not in SECRET_HEADERS
    assert mask_headers({name: "value-1"}) == {name: "value-1"}


def test_the_secret_header_list_reads_as_the_exact_names() -> None:
    assert list(SECRET_HEADERS) == sorted(
        ["api-key", "authorization", "cookie", "proxy-authorization", "set-cookie", "x-api-key", "x-goog-api-key"]
    )
    assert 5 not in SECRET_HEADERS  # type: ignore[comparison-overlap]


def test_header_values_keep_their_scheme_and_masked_values_stay() -> None:
    assert mask_header_value(f"Bearer {SECRET}") == "Bearer s3c...abcd"
    assert mask_header_value(f"Basic {SECRET}") == "Basic s3c...abcd"
    assert mask_header_value(SECRET) == "s3c...abcd"
    assert mask_header_value(f"sid={SECRET}; theme=dark") == "sid...dark"
    assert mask_header_value("Bearer sk-...abcd") == "Bearer sk-...abcd"  # already masked: not masked again
    assert mask_header_value("****") == "****"
    assert mask_header_value("Bearer ") == "****"
    assert mask_headers({"Authorization": f"Bearer {SECRET}"}, [SECRET]) == {"Authorization": "Bearer s3c...abcd"}
    assert mask_headers({"x-note": f"sent {SECRET}"}, [SECRET]) == {"x-note": "sent s3c...abcd"}
    assert mask_headers({"x-note": "a=b"}) == {"x-note": "a=b"}
    assert mask_headers({"x-note": "https://u:pw123456@host/"}) == {"x-note": "https://u:****@host/"}


@pytest.mark.parametrize(
    "name",
    ["key", "api_key", "api-key", "apikey", "x-goog-api-key", "token", "access_token", "access-token",
     "refresh_token", "id_token", "auth", "auth_token", "secret", "client_secret", "password", "passwd", "pwd", "sig",
     "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "credential", "session_token"],
)
def test_every_credential_query_name(name: str) -> None:
    for sep in ("?", "&", ";"):
        url = f"https://example.test/x?a=1{'&' if sep == '?' else ''}".rstrip("&")
        url = f"https://example.test/x{sep}{name}={SECRET}&b=2" if sep == "?" else f"{url}{sep}{name}={SECRET}&b=2"
        masked = mask_url_credentials(url)
        assert SECRET not in masked and f"{name}=****&b=2" in masked, masked
        assert mask_text(url.upper().replace(SECRET.upper(), SECRET)) != url.upper()


def test_ordinary_query_parameters_and_text_stay() -> None:
    for text in ("https://example.test/x?alt=sse&page=2", "tokens=5 and keys=3", "name=value", "a@b.c"):
        assert mask_url_credentials(text) == text
        assert mask_text(text) == text


def test_url_passwords_are_masked_usernames_kept() -> None:
    assert mask_url_credentials("see https://alice:pa55word@db.example.test:5432/x now") == (
        "see https://alice:****@db.example.test:5432/x now"
    )
    assert mask_url_credentials("postgresql://bob:hunter22@localhost/db") == "postgresql://bob:****@localhost/db"
    assert mask_url_credentials("mail bob@example.test") == "mail bob@example.test"


def test_a_key_containing_another_is_masked_whole() -> None:
    long_key, short_key = "sk-abcd-0123456789-wxyz", "abcd"
    masked = mask_text(f"{long_key} and {short_key}", [short_key, long_key, None, ""])
    assert masked == "sk-...wxyz and ****"


def test_dict_keys_tuples_and_urls_inside_values() -> None:
    value = {
        SECRET: ("a", f"b {SECRET}"),
        7: "seven",
        "url": f"https://example.test/x?key={SECRET}",
        "login": "https://u:pw123456@host/",
        "n": 1.5,
    }
    masked = mask_value(value, [SECRET])
    assert masked == {
        "s3c...abcd": ["a", "b s3c...abcd"],
        7: "seven",
        "url": "https://example.test/x?key=****",
        "login": "https://u:****@host/",
        "n": 1.5,
    }
    assert mask_value({"url": f"https://example.test/x?key={SECRET}"}) == {"url": "https://example.test/x?key=****"}
    assert mask_value({"login": "https://u:pw123456@host/"}) == {"login": "https://u:****@host/"}
    assert mask_value({"plain": "text"}) == {"plain": "text"}


def test_contains_secret_ignores_keys_too_short_to_mask() -> None:
    assert contains_secret(f"x{SECRET}x", [SECRET]) and contains_secret(f"x{SECRET}x".encode(), [None, SECRET])
    assert not contains_secret("abc abc", ["abc"]) and not contains_secret(b"abc abc", ["abc", None, ""])
    assert contains_secret("k3y5", ["k3y5"]) and contains_secret(b"k3y5", ["k3y5"])
    assert not contains_secret("nothing here", [SECRET]) and not contains_secret(b"nothing", [SECRET])


def test_a_key_pasted_with_whitespace_is_refused_showing_only_its_masked_form() -> None:
    assert check_api_key(None) is None and check_api_key("") == ""
    assert check_api_key(SECRET) == SECRET
    for pasted in (f"{SECRET}\n", f" {SECRET}", f"{SECRET}\t", f"sk-{SECRET}\r", f"{SECRET[:10]}\x00{SECRET[10:]}"):
        with pytest.raises(ConfigurationError) as info:
            check_api_key(pasted, provider="openai")
        message = str(info.value)
        assert SECRET[:10] not in message and SECRET[-8:] not in message
        assert message.startswith("api_key for openai: the key ") and message.endswith(
            "has surrounding whitespace or a line break (often pasted with a newline); remove it and try again."
        )
        assert getattr(info.value, "field", None) == "api_key"
    with pytest.raises(ConfigurationError) as info:
        check_api_key(f"{SECRET}\n", field="embedding_api_key")
    assert str(info.value).startswith("embedding_api_key: the key s3c...abcd has surrounding whitespace")
    with pytest.raises(ConfigurationError, match=r"^api_key: an API key must be a string, not int$"):
        check_api_key(12345)  # type: ignore[arg-type]


@pytest.fixture
def no_logged_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys earlier tests' agents registered for log masking would mask parts of this module's made-up values too."""
    import playground.masking as masking

    monkeypatch.setattr(masking, "_LOG_SECRETS", set())


def test_http_library_log_lines_are_masked(no_logged_keys: None) -> None:
    line = (
        "send_request_headers.started request=<Request [b'POST']> headers="
        f"[(b'Host', b'api.example.test'), (b'Authorization', b'Bearer {SECRET}'), (\"x-api-key\", \"{SECRET}\"), "
        "(b'Content-Type', b'application/json')]"
    )
    masked = mask_log_text(line)
    assert SECRET not in masked
    assert "(b'Authorization', b'Bearer s3c...abcd')" in masked and '("x-api-key", "s3c...abcd")' in masked
    assert "(b'Host', b'api.example.test')" in masked and "(b'Content-Type', b'application/json')" in masked
    assert mask_log_text("HTTP Request: POST https://example.test/v1?key=abc123 200") == (
        "HTTP Request: POST https://example.test/v1?key=**** 200"
    )
    assert mask_log_text("nothing to hide") == "nothing to hide"


def test_library_loggers_get_the_filter_and_known_keys(caplog: pytest.LogCaptureFixture, no_logged_keys: None) -> None:
    import uuid

    key = "sk-logged-key-0123456789abcd"
    name = f"httpx.safety_{uuid.uuid4().hex}"  # a new logger: an earlier run in this process may have filtered another
    logger = logging.getLogger(name)
    guard_library_logs([key])
    assert any(isinstance(f, SecretLogFilter) for f in logger.filters)
    with caplog.at_level(logging.DEBUG, logger=name):
        logger.debug("sending %s with %s", "request", key)
        logger.info("plain message")
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    assert messages == ["sending request with sk-...abcd", "plain message"]
    assert all(key not in m for m in caplog.messages)

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "bad %d", ("not a number",), None)
    assert SecretLogFilter().filter(record) is True and record.msg == "bad %d"  # left to logging's own error handling
    other = logging.getLogger("unrelated.safety_test")
    guard_library_logs()
    assert not any(isinstance(f, SecretLogFilter) for f in other.filters)


def test_credential_headers_are_masked_whole_and_known_keys_inside_them_first() -> None:
    from playground.masking import mask_secret

    key = "sk-proj-MASKCHECK-0123456789abcdefghij"
    cookie = mask_headers({"Cookie": f"sid={key}; theme=dark"}, [key])
    assert cookie == {"Cookie": f"sid={mask_secret(key)}; theme=dark"}
    assert mask_headers({"Cookie": "a=1;key=SECRETVALUE123"}) == {"Cookie": mask_secret("a=1;key=SECRETVALUE123")}
    digest = "Digest username=alice, response=6629fae49393a05397450978507c4ef1"
    assert mask_header_value(digest) == "Digest " + mask_secret(digest.partition(" ")[2])


def test_values_with_keys_that_are_not_text(no_logged_keys: None) -> None:
    value = {(1, 2): "pair", 3: ["x"], None: "none"}
    assert mask_value(value, [SECRET]) == {(1, 2): "pair", 3: ["x"], None: "none"}


def test_str_header_tuples_in_log_lines(no_logged_keys: None) -> None:
    line = f"headers=[('authorization', 'Bearer {SECRET}'), ('accept', '*/*')]"
    assert mask_log_text(line) == "headers=[('authorization', 'Bearer s3c...abcd'), ('accept', '*/*')]"


def test_url_credentials_in_ordinary_headers_are_masked_without_a_known_key() -> None:
    assert mask_headers({"x-origin": "https://h.test/x?api_key=abc123&b=1"}) == {
        "x-origin": "https://h.test/x?api_key=****&b=1"
    }


def test_a_key_in_the_url_path_is_masked_in_the_request_view() -> None:
    from playground.providers.base import HttpRequestSpec
    from playground.providers.transport import masked_request

    spec = HttpRequestSpec("POST", f"https://h.test/v1/{SECRET}/chat", {"a": "b"}, {"x": 1})
    assert masked_request(spec, [SECRET])["url"] == "https://h.test/v1/s3c...abcd/chat"


def test_a_key_that_is_not_text_is_refused_naming_the_field() -> None:
    for field in ("api_key", "embedding_api_key"):
        with pytest.raises(ConfigurationError) as info:
            check_api_key(12345, field=field)  # type: ignore[arg-type]
        assert getattr(info.value, "field", None) == field


def test_new_library_loggers_get_the_filter_too(no_logged_keys: None) -> None:
    import uuid

    first = logging.getLogger(f"httpx.safety_{uuid.uuid4().hex}")
    guard_library_logs()
    second = logging.getLogger(f"httpcore.safety_{uuid.uuid4().hex}")
    guard_library_logs(["sk-second-key-0123456789"])
    assert any(isinstance(f, SecretLogFilter) for f in first.filters)
    assert any(isinstance(f, SecretLogFilter) for f in second.filters)
    assert [f for f in second.filters if isinstance(f, SecretLogFilter)] == [second.filters[0]]  # added once
    guard_library_logs()
    assert len([f for f in second.filters if isinstance(f, SecretLogFilter)]) == 1


def test_keys_are_replaced_longest_first_whatever_their_letters() -> None:
    short_key, long_key = "zzzz", "azzzz-0123456789-tail"
    for secrets in ([short_key, long_key], [long_key, short_key]):
        masked = mask_text(f"key {long_key} and {short_key}", secrets)
        assert masked == "key azz...tail and ****", masked  # not "a****-0123456789-tail"


@pytest.mark.parametrize(
    ("name_quote", "value_quote"),
    [('b"', 'b"'), ('"', '"'), ("b'", 'b"'), ('b"', "b'"), ("'", '"')],
    ids=["bytes-double", "str-double", "bytes-single-name", "bytes-single-value", "str-mixed"],
)
def test_header_tuples_in_log_lines_are_masked_in_every_quoting(
    name_quote: str, value_quote: str, no_logged_keys: None
) -> None:
    """httpx/httpcore print a header list with repr(): bytes and str, single or double quotes, as the value needs."""
    nq, vq = name_quote, value_quote
    name_end, value_end = nq[-1], vq[-1]
    line = (
        f"send_request_headers.started request=<Request [b'POST']> headers=[({nq}Authorization{name_end}, "
        f"{vq}Bearer {SECRET}{value_end}), ({nq}x-api-key{name_end}, {vq}{SECRET}{value_end}), "
        f"({nq}accept{name_end}, {vq}*/*{value_end})]"
    )
    masked = mask_log_text(line)
    assert SECRET not in masked and SECRET[-12:] not in masked, masked
    assert f"({nq}Authorization{name_end}, {vq}Bearer s3c...abcd{value_end})" in masked
    assert f"({nq}x-api-key{name_end}, {vq}s3c...abcd{value_end})" in masked
    assert f"({nq}accept{name_end}, {vq}*/*{value_end})" in masked  # an ordinary header stays readable


# Every entry of masking's secret lists, one by one. mutmut does not mutate module-level lists, so these tests are what
# notices an entry dropped or misspelled: each entry has a name here that only it masks (where another entry does not
# cover it too), and a new entry fails the first assertion until it gets its own line.
EXACT_SECRET_HEADERS = [
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-goog-api-key"
]
SECRET_HEADER_WORDS = {  # word of _SECRET_HEADER_WORDS -> a header name no other word matches
    "key": "openai-key", "secret": "x-client-secret", "passw": "x-password", "pwd": "x-pwd",
    "credential": "x-credential", "auth": "x-auth-user", "token(?!s)": "x-token", "cookie": "x-cookie-data",
    "session": "x-session-id", "signature": "x-signature",
}
QUERY_NAME_SPELLINGS = {  # alternative of _QUERY_NAMES -> every spelling it stands for
    "key": ["key"], "api[_-]?key": ["api_key", "api-key", "apikey"], "apikey": ["apikey"],
    "x-goog-api-key": ["x-goog-api-key"], "token": ["token"],
    "access[_-]?token": ["access_token", "access-token", "accesstoken"],
    "refresh[_-]?token": ["refresh_token", "refresh-token", "refreshtoken"],
    "id[_-]?token": ["id_token", "id-token", "idtoken"], "auth": ["auth"],
    "auth[_-]?token": ["auth_token", "auth-token", "authtoken"], "secret": ["secret"],
    "client[_-]?secret": ["client_secret", "client-secret", "clientsecret"], "password": ["password"],
    "passwd": ["passwd"], "pwd": ["pwd"], "sig": ["sig"], "signature": ["signature"],
    "x-amz-signature": ["x-amz-signature"], "x-amz-credential": ["x-amz-credential"],
    "x-amz-security-token": ["x-amz-security-token"], "credential": ["credential"],
    "session[_-]?token": ["session_token", "session-token", "sessiontoken"],
}


def spellings(name: str) -> list[str]:
    return [name, name.upper(), name.title()]


def test_every_secret_header_entry_is_masked_in_headers_and_log_lines(no_logged_keys: None) -> None:
    import playground.masking as masking

    assert sorted(masking._EXACT_SECRET_HEADERS) == sorted(EXACT_SECRET_HEADERS)
    assert masking._SECRET_HEADER_WORDS.pattern.split("|") == list(SECRET_HEADER_WORDS)
    for name in [*EXACT_SECRET_HEADERS, *SECRET_HEADER_WORDS.values()]:
        for spelled in spellings(name):
            assert is_secret_header(spelled), spelled
            masked = mask_headers({spelled: f"Bearer {SECRET}", "accept": "*/*"})
            assert masked == {spelled: "Bearer s3c...abcd", "accept": "*/*"}, spelled
            line = mask_log_text(f"headers=[(b'{spelled}', b'{SECRET}'), (b'accept', b'*/*')]")
            assert line == f"headers=[(b'{spelled}', b's3c...abcd'), (b'accept', b'*/*')]", line


def test_every_credential_query_name_entry_is_masked_in_any_letter_case() -> None:
    import playground.masking as masking

    assert masking._QUERY_NAMES.split("|") == list(QUERY_NAME_SPELLINGS)
    for names in QUERY_NAME_SPELLINGS.values():
        for name in names:
            for spelled in spellings(name):
                for sep in ("?", "&", ";"):
                    url = f"https://example.test/x?a=1{sep}{spelled}={SECRET}&b=2".replace("?a=1?", "?")
                    masked = mask_url_credentials(url)
                    assert masked == url.replace(SECRET, "****"), masked
                    assert mask_text(f"GET {url} 200") == f"GET {masked} 200"


def test_remembered_verdicts_stay_bounded_and_right_when_names_and_keys_keep_changing() -> None:
    """A server inventing header names (or a process cycling keys) must not grow masking's memory for ever, and a
    name or key seen again after the memory was cleared is judged the same way."""
    import playground.masking as masking

    for i in range(3000):
        assert not is_secret_header(f"x-trace-{i}")
    assert 0 < len(masking._header_verdicts) <= 1024
    assert is_secret_header("X-Trace-Token") and is_secret_header("x-trace-token")
    assert not is_secret_header("x-trace-0")  # evicted and judged again: the same answer
    for i in range(600):
        key = f"sk-cycled-{i:04d}-0123456789"
        assert mask_text(f"key {key}", [key, None, "ab"]) == f"key {key[:3]}...{key[-4:]}"
    assert 0 < len(masking._usable_sets) <= 256
    assert mask_text("key sk-cycled-0000-0123456789", ["sk-cycled-0000-0123456789"]) == "key sk-...6789"
