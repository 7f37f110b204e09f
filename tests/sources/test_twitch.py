from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from streamvault.errors import RemoteError
from streamvault.sources.twitch import (
    CLIENT_ID,
    PERSISTED_QUERY_HASH,
    AccessToken,
    gql_body,
    gql_headers,
    parse_token,
    usher_url,
)


def test_gql_request() -> None:
    body = gql_body("desertbus")
    assert body["operationName"] == "PlaybackAccessToken"
    assert body["extensions"]["persistedQuery"] == {
        "version": 1,
        "sha256Hash": PERSISTED_QUERY_HASH,
    }
    assert body["variables"] == {
        "isLive": True,
        "login": "desertbus",
        "isVod": False,
        "vodID": "",
        "playerType": "embed",
        "platform": "site",
    }
    assert gql_headers()["Client-ID"] == CLIENT_ID
    assert "Authorization" not in gql_headers()
    assert gql_headers("abc")["Authorization"] == "OAuth abc"


def test_parse_token() -> None:
    text = json.dumps(
        {
            "data": {
                "streamPlaybackAccessToken": {
                    "value": '{"channel":"x"}',
                    "signature": "ab12",
                    "__typename": "PlaybackAccessToken",
                }
            }
        }
    )
    assert parse_token(text) == AccessToken('{"channel":"x"}', "ab12")
    assert parse_token('{"data": {"streamPlaybackAccessToken": null}}') is None
    with pytest.raises(RemoteError):
        parse_token("<html>")


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("https://usher.ttvnw.net", "/api/v2/channel/hls/foo.m3u8"),
        ("http://127.0.0.1:9/node/b/", "/node/b/api/v2/channel/hls/foo.m3u8"),
    ],
)
def test_usher_url(base: str, path: str) -> None:
    url = usher_url(base, "foo", AccessToken('{"a":1}', "sig1"), nonce=1234567)
    parts = urlsplit(url)
    assert parts.path == path
    query = parse_qs(parts.query)
    assert query["sig"] == ["sig1"] and query["token"] == ['{"a":1}']
    for key, value in [
        ("allow_source", "true"),
        ("allow_audio_only", "true"),
        ("p", "1234567"),
        ("player", "twitchweb"),
        ("type", "any"),
        ("fast_bread", "true"),
        ("supported_codecs", "av1,h265,h264"),
    ]:
        assert query[key] == [value]
