"""IRC lines with IRCv3 tags, as Twitch chat speaks them. Pure: text in, values out.

Not a library: irctokens (the reference IRCv3 tokeniser) took 406 us for one typical Twitch
``PRIVMSG`` (its tag unescaping pops characters off a list one by one): 2,500 lines/s, where
the archiver must keep up with 20,000 on one core. It also reads ``key`` and ``key=`` alike,
which wubloader's archiver keeps apart (``true`` and ``""``), and a byte-compatible archive
needs that. pydle's parser is part of its client class and cannot be used alone.

The fields follow wubloader's archiver, so both write the same JSON for the same line:
``sender`` is the nick (or the server name), ``user`` and ``host`` the parts after ``!`` and
``@`` (``None`` when absent), ``tags`` ``None`` when the line has none, a tag without ``=``
is ``True``, and the command is upper-cased. Tag values are unescaped exactly as Twitch and
IRCv3 document it: ``\\:`` is ``;``, ``\\s`` a space, ``\\\\`` a backslash, ``\\r`` and
``\\n`` CR and LF; any other escaped character stands for itself and a lone trailing
backslash is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadIrcLine

_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_ESCAPED = re.compile(r"\\(.?)", re.DOTALL)
_TO_ESCAPE = re.compile(r"[; \\\r\n]")

Tags = dict[str, "str | bool"]


@dataclass(frozen=True, slots=True)
class IrcMessage:
    command: str
    params: tuple[str, ...] = ()
    sender: str | None = None
    user: str | None = None
    host: str | None = None
    tags: Tags | None = None


def _unescape_one(match: re.Match[str]) -> str:
    char = match.group(1)
    return _UNESCAPES.get(char, char)


def unescape_tag_value(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED.sub(_unescape_one, value)


def escape_tag_value(value: str) -> str:
    return _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], value)


def _parse_tags(text: str) -> Tags:
    escaped = "\\" in text  # most lines have no escape at all: skip the check per value
    tags: Tags = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if not sep:
            if key:
                tags[key] = True
        elif escaped and "\\" in value:
            tags[key] = _ESCAPED.sub(_unescape_one, value)
        else:
            tags[key] = value
    return tags


def parse_line(line: str) -> IrcMessage:
    """One IRC line (without its CR LF) as a message; BadIrcLine when it is not one."""
    if "\0" in line or "\r" in line or "\n" in line:
        raise BadIrcLine("line holds a NUL, CR or LF")
    tags: Tags | None = None
    rest = line.lstrip(" ")
    if rest.startswith("@"):
        tag_text, _, rest = rest.partition(" ")
        tags = _parse_tags(tag_text[1:])
        rest = rest.lstrip(" ")
    sender = user = host = None
    if rest.startswith(":"):
        prefix, _, rest = rest.partition(" ")
        prefix = prefix[1:]
        if "@" in prefix:
            prefix, _, host = prefix.rpartition("@")
        if "!" in prefix:
            prefix, _, user = prefix.partition("!")
        sender = prefix
    middle, sep, trailing = rest.partition(" :")
    if not sep and middle.startswith(":"):
        middle, sep, trailing = "", ":", middle[1:]
    words = [word for word in middle.split(" ") if word]  # IRC splits on spaces only
    if not words:
        raise BadIrcLine("line has no command")
    params = words[1:]
    if sep:
        params.append(trailing)
    return IrcMessage(words[0].upper(), tuple(params), sender, user, host, tags)


def format_line(message: IrcMessage) -> str:
    """The line for ``message`` (without CR LF); the last parameter always goes as trailing."""
    parts = []
    if message.tags:
        tags = (
            key if value is True else f"{key}={escape_tag_value(str(value))}"
            for key, value in message.tags.items()
        )
        parts.append("@" + ";".join(tags))
    if message.sender is not None:
        prefix = ":" + message.sender
        if message.user is not None:
            prefix += "!" + message.user
        if message.host is not None:
            prefix += "@" + message.host
        parts.append(prefix)
    parts.append(message.command)
    if message.params:
        parts.extend(message.params[:-1])
        parts.append(":" + message.params[-1])
    return " ".join(parts)


def decode_line(raw: bytes) -> tuple[str, bool]:
    """Bytes of one line as text, and whether they were valid UTF-8.

    Invalid bytes are kept as surrogate escapes (``errors="surrogateescape"``): the archive
    writes them as ``\\udcXX`` escapes in its ASCII-only JSON, so the original bytes can still
    be recovered; nothing is replaced or dropped.
    """
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape"), False
