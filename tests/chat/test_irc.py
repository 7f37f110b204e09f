"""IRC lines with Twitch's tags: a table of lines, and the tag escaping round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.chat.irc import (
    IrcMessage,
    decode_line,
    escape_tag_value,
    format_line,
    parse_line,
    unescape_tag_value,
)
from streamvault.errors import BadIrcLine

CASES = [
    (
        "@badge-info=;badges=broadcaster/1;id=abc;tmi-sent-ts=1642696567751;flag "
        ":foo!foo@foo.tmi.twitch.tv PRIVMSG #bar :hello  there :)",
        IrcMessage(
            "PRIVMSG",
            ("#bar", "hello  there :)"),
            "foo",
            "foo",
            "foo.tmi.twitch.tv",
            {
                "badge-info": "",
                "badges": "broadcaster/1",
                "id": "abc",
                "tmi-sent-ts": "1642696567751",
                "flag": True,
            },
        ),
    ),
    (":tmi.twitch.tv RECONNECT", IrcMessage("RECONNECT", (), "tmi.twitch.tv")),
    ("PING :tmi.twitch.tv", IrcMessage("PING", ("tmi.twitch.tv",))),
    (":a!b@c JOIN #chan", IrcMessage("JOIN", ("#chan",), "a", "b", "c")),
    (":server 353 nick = #chan :nick", IrcMessage("353", ("nick", "=", "#chan", "nick"), "server")),
    ("privmsg #x :lower", IrcMessage("PRIVMSG", ("#x", "lower"))),
    (
        "@system-msg=a\\sb\\:c\\\\d\\re\\nf\\xg\\ :tmi.twitch.tv USERNOTICE #c",
        IrcMessage("USERNOTICE", ("#c",), "tmi.twitch.tv", tags={"system-msg": "a b;c\\d\re\nfxg"}),
    ),
    (":nick@host NOTICE #c :", IrcMessage("NOTICE", ("#c", ""), "nick", None, "host")),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parse_line(line: str, expected: IrcMessage) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", ["", "   ", "@a=b", "@a=b :prefix", ":prefix", "A\0B", "x\ry"])
def test_not_irc_lines_are_refused(line: str) -> None:
    with pytest.raises(BadIrcLine):
        parse_line(line)


def test_twitch_escapes_exactly() -> None:
    # Twitch's documented escapes, and a backslash before anything else stands for that thing
    assert unescape_tag_value(r"\:\s\\\r\n") == "; \\\r\n"
    assert unescape_tag_value("\\\\s") == "\\s"
    assert unescape_tag_value("end\\") == "end"
    assert escape_tag_value("a; b\\c\r\n") == r"a\:\sb\\c\r\n"


@given(st.text())
def test_tag_escaping_round_trips(value: str) -> None:
    assert unescape_tag_value(escape_tag_value(value)) == value


tag_text = st.text(st.characters(blacklist_characters="\0\r\n"))
words = st.text(st.characters(blacklist_characters="\0\r\n :@!;="), min_size=1)


@given(
    st.dictionaries(words, tag_text | st.just(True), max_size=5),
    st.from_regex(r"[A-Z]{1,12}|[0-9]{3}", fullmatch=True),
    st.lists(words, max_size=3),
    st.text(st.characters(blacklist_characters="\0\r\n")),
)
def test_format_then_parse_is_the_same_message(
    tags: dict[str, str | bool], command: str, middle: list[str], trailing: str
) -> None:
    message = IrcMessage(command, (*middle, trailing), "nick", "user", "host", tags or None)
    assert parse_line(format_line(message)) == message


def test_invalid_utf8_is_kept_byte_for_byte() -> None:
    raw = b":a!a@a PRIVMSG #c :caf\xe9 \xff"
    text, valid = decode_line(raw)
    assert not valid
    assert text.encode("utf-8", "surrogateescape") == raw
    assert decode_line("caf\u00e9".encode()) == ("caf\u00e9", True)
