"""``/api/events`` (SPEC §12) over real HTTP, each test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

RANGE = {"start": "2026-11-28T04:00:00Z", "end": "2026-11-28T04:00:10Z", "transition": None}


def event_body(**fields: Any) -> dict[str, Any]:
    return {"channel": "desertbus", "ranges": [RANGE], "title": "the host shaves", **fields}


async def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/events", json=event_body(**fields))
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def patch(
    client: TestClient, event_id: int, version: int | None, body: Any
) -> tuple[int, Any]:
    headers = {} if version is None else {"If-Match": f'"{version}"'}
    response = await client.patch(f"/api/events/{event_id}", json=body, headers=headers)
    return response.status, await response.json()


async def test_create_answers_201_with_the_stored_event_location_and_etag(
    client: TestClient,
) -> None:
    response = await client.post("/api/events", json=event_body(tags=["hair"]))
    assert response.status == 201
    event = await response.json()
    assert response.headers["Location"] == f"/api/events/{event['id']}"
    assert response.headers["ETag"] == '"1"'
    assert event["version"] == 1 and event["state"] == "UNEDITED"
    assert event["ranges"] == [
        {
            "start": "2026-11-28T04:00:00.000000Z",
            "end": "2026-11-28T04:00:10.000000Z",
            "transition": None,
        }
    ]
    assert event["tags"] == ["hair"] and event["quality"] == "source"
    for name in ("created", "updated", "description", "chapters", "thumbnail", "output"):
        assert name in event
    again = await client.get(response.headers["Location"])
    assert again.status == 200 and again.headers["ETag"] == '"1"'
    assert await again.json() == event


async def test_times_in_other_zones_are_stored_in_utc(client: TestClient) -> None:
    offset = {"start": "2026-11-28T05:00:00+01:00", "end": "2026-11-28T05:00:10+01:00"}
    event = await create(client, ranges=[offset])
    assert event["ranges"][0]["start"] == "2026-11-28T04:00:00.000000Z"


async def test_update_needs_the_version_it_is_based_on(client: TestClient) -> None:
    event = await create(client)
    status, body = await patch(client, event["id"], None, {"title": "new"})
    assert status == 428 and "If-Match" in body["error"]
    status, body = await patch(client, event["id"], 1, {"title": "new", "state": "EDITED"})
    assert status == 200 and body["version"] == 2 and body["title"] == "new"
    assert body["state"] == "EDITED"
    status, body = await patch(client, event["id"], 1, {"title": "stale"})
    assert status == 409
    assert body["current"]["version"] == 2 and body["current"]["title"] == "new"


async def test_two_editors_from_the_same_version_one_wins_and_nothing_is_lost(
    client: TestClient,
) -> None:
    event = await create(client)
    first, second = await asyncio.gather(
        patch(client, event["id"], 1, {"title": "alice's title"}),
        patch(client, event["id"], 1, {"title": "bob's title"}),
    )
    statuses = sorted([first[0], second[0]])
    assert statuses == [200, 409]
    winner, loser = (first, second) if first[0] == 200 else (second, first)
    assert loser[1]["current"] == winner[1]
    assert loser[1]["current"]["version"] == 2
    response = await client.get(f"/api/events/{event['id']}/history")
    history = await response.json()
    actions = [entry["action"] for entry in history]
    assert actions == ["create", "update", "conflict"]
    titles = {entry["changes"]["title"]["new"] for entry in history[1:]}
    assert titles == {"alice's title", "bob's title"}  # both attempts are kept


async def test_illegal_state_changes_and_bad_fields_are_400_with_one_line(
    client: TestClient,
) -> None:
    event = await create(client)
    bad: list[Any] = [
        {"state": "DONE"},  # UNEDITED -> DONE is not a transition
        {"state": "CLAIMED"},
        {"state": "nonsense"},
        {"colour": "red"},
        {"id": 99},
        {"title": "x" * 101},
        {"ranges": [{"start": "2026-11-28T04:00:10Z", "end": "2026-11-28T04:00:00Z"}]},
        {"ranges": [{"start": "yesterday", "end": "2026-11-28T04:00:00Z"}]},
        # an offset that carries the time before year 1: was an OverflowError (a 500)
        {"ranges": [{"start": "0001-01-01T00:00:00+05:00", "end": "2026-11-28T04:00:00Z"}]},
        {"ranges": [dict(RANGE, transition={"type": "explode", "duration": 1})]},
        {"ranges": [dict(RANGE, transition={"type": "fade", "duration": 1})]},  # last range
        {"ranges": "all of it"},
        {"allow_holes": "yes"},
        {"cut_type": "gif"},
        {"tags": [1, 2]},
        {"progress": 7},
        ["not", "an", "object"],
    ]
    for body in bad:
        status, answer = await patch(client, event["id"], 1, body)
        assert status == 400, (body, answer)
        assert "\n" not in answer["error"] and answer["error"], body
    response = await client.patch(
        f"/api/events/{event['id']}", data=b"{not json", headers={"If-Match": '"1"'}
    )
    assert response.status == 400
    response = await client.patch(
        f"/api/events/{event['id']}", json={}, headers={"If-Match": "soon"}
    )
    assert response.status == 400
    current = await (await client.get(f"/api/events/{event['id']}")).json()
    assert current == event  # nothing changed


async def test_the_state_machine_of_spec_12(client: TestClient) -> None:
    event = await create(client)
    path = ["EDITED", "CLAIMED", "FAILED", "EDITED", "CLAIMED", "DONE", "MODIFIED", "CLAIMED"]
    version = 1
    for state in path:
        status, body = await patch(client, event["id"], version, {"state": state})
        assert status == 200, body
        version = body["version"]
    status, body = await patch(client, event["id"], version, {"state": "UNEDITED"})
    assert status == 400


async def test_unedited_events_need_no_ranges_but_submitted_ones_do(client: TestClient) -> None:
    event = await create(client, ranges=[])
    status, body = await patch(client, event["id"], 1, {"state": "EDITED"})
    assert status == 400 and "range" in body["error"]


async def test_delete_with_if_match(client: TestClient) -> None:
    event = await create(client)
    path = f"/api/events/{event['id']}"
    assert (await client.delete(path)).status == 428
    stale = await client.delete(path, headers={"If-Match": '"7"'})
    assert stale.status == 409 and (await stale.json())["current"]["id"] == event["id"]
    assert (await client.delete(path, headers={"If-Match": '"1"'})).status == 204
    assert (await client.get(path)).status == 404
    history = await (await client.get(f"{path}/history")).json()
    assert [entry["action"] for entry in history] == ["create", "delete"]


async def test_unknown_ids_are_404(client: TestClient) -> None:
    for path in ("/api/events/12345", "/api/events/abc", "/api/events/12345/history"):
        response = await client.get(path)
        assert response.status == 404, path
        assert "error" in await response.json()
    status, _ = await patch(client, 12345, 1, {"title": "x"})
    assert status == 404


async def test_list_filters_and_pages_newest_first(client: TestClient) -> None:
    later = {"start": "2026-11-28T06:00:00Z", "end": "2026-11-28T06:00:10Z", "transition": None}
    a = await create(client, title="Shaving the host", tags=["hair"])
    b = await create(client, channel="other", title="Other channel")
    c = await create(client, title="Late pie", ranges=[later], notes="the PIE incident")
    d = await create(client, title="Submitted", state="EDITED")

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/api/events?{query}")
        assert response.status == 200, await response.text()
        return [e["id"] for e in (await response.json())["events"]]

    assert await ids("") == [d["id"], c["id"], b["id"], a["id"]]
    assert await ids("channel=other") == [b["id"]]
    assert await ids("state=EDITED") == [d["id"]]
    assert await ids("state=EDITED,UNEDITED&channel=desertbus") == [d["id"], c["id"], a["id"]]
    assert await ids("q=pie") == [c["id"]]  # notes, any case
    assert await ids("q=HAIR") == [a["id"]]  # tags
    assert await ids("q=100%25") == []  # LIKE wildcards are literal
    assert await ids("start=2026-11-28T05:00:00Z") == [c["id"]]
    assert await ids("end=2026-11-28T05:00:00Z&channel=desertbus") == [d["id"], a["id"]]
    seen: list[int] = []
    cursor = None
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"/api/events?{query}")).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [d["id"], c["id"], b["id"], a["id"]]


async def test_bad_list_parameters_are_400_never_500(client: TestClient) -> None:
    for query in (
        "limit=0",
        "limit=abc",
        "limit=100000",
        "cursor=-1",
        "state=LOST",
        "start=tuesday",
        "start=2026-11-28T05:00:00%2B01:00",
        "start=2026-11-28T06:00:00Z&end=2026-11-28T05:00:00Z",
        "q=" + "x" * 300,
    ):
        response = await client.get(f"/api/events?{query}")
        assert response.status == 400, query
        assert "\n" not in (await response.json())["error"]


async def test_openapi_describes_the_events_api(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/events"]) == {"get", "post"}
    assert set(paths["/api/events/{id}"]) == {"get", "patch", "delete"}
    patch_responses = paths["/api/events/{id}"]["patch"]["responses"]
    assert {"200", "400", "409", "428"} <= set(patch_responses)
    assert "/api/events/{id}/history" in paths


async def test_dot_paths_stay_refused_with_the_database_inside_base(client: TestClient) -> None:
    for path in ("/segments/.streamvault/streamvault.sqlite3", "/files/.streamvault"):
        assert (await client.get(path)).status == 403
    assert ".streamvault" not in await (await client.get("/files")).json()


async def test_an_editor_on_another_origin_may_change_events(client: TestClient) -> None:
    event = await create(client)
    preflight = await client.options(
        f"/api/events/{event['id']}",
        headers={
            "Origin": "http://other-node:8000",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "if-match, content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Allow"] == "GET, HEAD, PATCH, DELETE, OPTIONS"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "if-match" in preflight.headers["Access-Control-Allow-Headers"].lower()
    listing = await client.options("/api/events")
    assert listing.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    response = await client.patch(
        f"/api/events/{event['id']}", json={"title": "x"}, headers={"If-Match": '"1"'}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


async def test_a_body_past_a_megabyte_is_400(client: TestClient) -> None:
    huge = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post("/api/events", data=huge)
    assert response.status == 400 and "larger" in (await response.json())["error"]


async def test_errors_are_json_on_every_method_but_the_path_check_answers_text(
    client: TestClient,
) -> None:
    """One middleware answers every error: the API's in JSON, readable by other origins; the
    path check that runs before any route in the restreamer's one line of text."""
    missing = await client.get("/api/events/999")
    assert missing.status == 404
    assert missing.content_type == "application/json"
    assert await missing.json() == {"error": "no event 999"}
    refused = await client.post("/api/events", data=b"{not json", headers={"X-Editor": "me"})
    assert refused.status == 400 and await refused.json() == {"error": "the body is not JSON"}
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.headers["Access-Control-Expose-Headers"] == "ETag, Location"
    unsafe = await client.get("/api/events/.1")
    assert unsafe.status == 403 and unsafe.content_type == "text/plain"
    assert (await unsafe.text()).endswith("\n") and "'.'" in await unsafe.text()
