"""Batch content to the byte, batch names carrying its SHA-256, and the batch buffer."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from streamvault.chat.batches import BatchBuffer, decode_batch, encode_batch
from streamvault.chat.irc import parse_line
from streamvault.chat.messages import TimeEstimator, to_record
from streamvault.chat.store import ChatStore

LINE = (
    "@badge-info=;color=#1E90FF;display-name=Caf\u00e9;id=8b1c;tmi-sent-ts=1700000000123 "
    ":cafe!cafe@cafe.tmi.twitch.tv PRIVMSG #desertbus :hi \u2713"
)
# Sorted keys, no spaces, non-ASCII as \u escapes, ranges as ints, one message a line with a
# final newline: what wubloader's archiver writes for the same lines. The JOIN came 1 s after
# the PRIVMSG sent at ...000.123: max(that + 1 - 5, that) - 45, range 10 + 45.
EXPECTED = (
    b'{"command":"JOIN","host":"b.tmi.twitch.tv","params":["#desertbus"],'
    b'"receivers":{"node-a":1700000001.5},"sender":"b","tags":null,'
    b'"time":1699999955.123,"time_range":55,"user":"b"}\n'
    b'{"command":"PRIVMSG","host":"cafe.tmi.twitch.tv","params":["#desertbus","hi \\u2713"],'
    b'"receivers":{"node-a":1700000000.5},"sender":"cafe","tags":{"badge-info":"",'
    b'"color":"#1E90FF","display-name":"Caf\\u00e9","id":"8b1c","tmi-sent-ts":"1700000000123"},'
    b'"time":1700000000.123,"time_range":0,"user":"cafe"}\n'
)


def _messages() -> list[dict[str, object]]:
    estimator = TimeEstimator()
    privmsg = parse_line(LINE)
    join = parse_line(":b!b@b.tmi.twitch.tv JOIN #desertbus")
    a = to_record(privmsg, "node-a", 1700000000.5, *estimator.estimate(privmsg, 1700000000.5))
    b = to_record(join, "node-a", 1700000001.5, *estimator.estimate(join, 1700000001.5))
    return [a, b]


def test_content_is_the_canonical_json_to_the_byte() -> None:
    assert encode_batch(_messages()) == EXPECTED
    assert encode_batch(reversed(_messages())) == EXPECTED
    assert encode_batch(decode_batch(EXPECTED)) == EXPECTED


def test_batch_name_carries_the_sha256_of_its_content(tmp_path: Path) -> None:
    store = ChatStore(str(tmp_path))
    [written] = store.write("desertbus", [_messages()[0]])
    content = Path(written.path).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    # 1700000000.123 is 2023-11-14T22:13:20 UTC: the batch of 22:13:00
    assert written.path == str(tmp_path / "desertbus/chat/2023-11-14T22" / f"13:00-{digest}.json")
    assert content.endswith(b"\n") and content.count(b"\n") == 1
    assert [n for n in os.listdir(Path(written.path).parent)] == [Path(written.path).name]
    # the same content again: same name, nothing new
    [again] = store.write("desertbus", [_messages()[0]])
    assert again.path == written.path and not again.new


def test_estimated_times() -> None:
    estimator = TimeEstimator()
    join = parse_line(":b!b@b JOIN #c")
    notice = parse_line("@msg-id=slow_on :tmi.twitch.tv NOTICE #c :slow")
    # before any timestamped message: local time - 10, range 15 (JOIN: 45 more each way)
    assert estimator.estimate(notice, 1000.0) == (990.0, 15)
    assert estimator.estimate(join, 1000.0) == (945.0, 60)
    stamped = parse_line("@tmi-sent-ts=2000000 :a!a@a PRIVMSG #c :x")
    assert estimator.estimate(stamped, 2001.0) == (2000.0, 0)
    # later: the last server time plus the time since, padded by 5 s, never before it
    assert estimator.estimate(notice, 2011.0) == (2005.0, 10)
    assert estimator.estimate(notice, 2002.0) == (2000.0, 10)


def test_buffer_closes_batches_after_a_minute_and_the_lag() -> None:
    buffer = BatchBuffer(lag=60)
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    message = {"time": start + 30.0, "time_range": 10, "tags": None, "receivers": {}}
    buffer.add(1, dict(message))
    buffer.add(2, dict(message, receivers={"x": 1.0}))
    assert buffer.closable(start + 119.9) == []
    assert buffer.next_close() == start + 120
    [(batch, merged)] = buffer.closable(start + 120)
    assert batch == start and len(merged) == 1  # one message from two connections
    assert len(buffer) == 0 and buffer.size == 0


def test_buffer_narrows_untimed_messages_before_a_timestamped_one() -> None:
    buffer = BatchBuffer()
    buffer.add(1, {"command": "NOTICE", "time": 100.0, "time_range": 10, "receivers": {}})
    buffer.add(2, {"command": "JOIN", "time": 100.0, "time_range": 10, "receivers": {}})
    buffer.narrow(1, 104.0)
    [(_, messages)] = buffer.drain()
    assert sorted(m["time_range"] for m in messages) == [4.0, 10]
