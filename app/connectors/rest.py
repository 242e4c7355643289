"""The generic REST-polling adapter: a vendor is a sources.yaml entry (endpoint, auth, pagination,
schedule, quota, record path, field mapping), not code.

Each poll fetches every page since the cursor, maps records onto the topic's schema, drops those at or
before the cursor, and yields them oldest first with the new cursor. The cursor is the highest value of
`cursor.field` (an epoch-ms field of the mapped record) plus the ids seen at exactly that value, so a
restart neither skips a record nor sends one twice, even when many share a timestamp.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.catalog import duration_ms
from app.connectors.http import BadPayload, VendorError, VendorUnavailable
from app.connectors.mapping import Mapping, MappingError, apply, lookup
from app.connectors.producer import Rejected
from app.connectors.runtime import Batch, Source

log = logging.getLogger(__name__)
REMEMBERED_REJECTS = 500


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "page", "next_url", "token"] = "none"
    param: str = "page"  # page: the page-number parameter; token: the parameter that takes the token
    start: int = 1
    next_field: str = "next_url"  # next_url / token: where the body carries the next page's URL / token
    max_pages: int = Field(10, ge=1, le=1000)


class CursorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str  # mapped field, epoch ms, that only grows (published_at, timestamp)
    id_field: str  # mapped field identifying a record (id, filing_id, series_id)
    param: str | None = None  # request parameter that asks for records since the cursor
    format: Literal["iso", "iso_naive", "ms", "seconds", "date"] = "iso"


class RestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str  # may hold {name} placeholders filled from fan_out (e.g. /r/{subreddit}/new)
    params: dict[str, str | int | float] = {}  # the value "{today}" becomes today's UTC date
    fan_out: dict[str, list[str]] = {}  # one request per value, e.g. {symbol: [IBM, MSFT]}
    schedule: str = "5m"
    records: str | list[str] = ""  # path of the record list (or mapping) in the body; "" = the body itself
    records_shape: Literal["list", "mapping"] = "list"  # mapping: {key: record}, key exposed as `_key`
    throttled_fields: list[str] = []  # body keys meaning "over quota" despite HTTP 200 (Alpha Vantage)
    pagination: Pagination = Pagination()
    cursor: CursorSpec | None = None
    mapping: Mapping

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        duration_ms(value)
        return value


def _format(ms: int, kind: str) -> str | int:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    formats = {
        "ms": ms,
        "seconds": ms // 1000,
        "date": moment.strftime("%Y-%m-%d"),
        "iso": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso_naive": moment.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    return formats[kind]


class RestSource(Source):
    Options = RestOptions

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        o = self.options
        self.mapping = o.mapping
        self.cursor = cursor or {}
        http = self.ctx.http()
        while True:
            try:
                records = []
                for params in self._requests():
                    records += await self._fetch(http, params)
                yield self._advance(records)
            except (VendorError, VendorUnavailable) as exc:
                log.error("%s: poll failed: %s", self.name, exc)
            await asyncio.sleep(duration_ms(o.schedule) / 1000)

    def _requests(self) -> list[dict]:
        o = self.options
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        base = {k: today if v == "{today}" else v for k, v in o.params.items()}
        if o.cursor and o.cursor.param and "ts" in self.cursor:
            base[o.cursor.param] = _format(self.cursor["ts"], o.cursor.format)
        requests = [base]
        for param, values in o.fan_out.items():
            requests = [{**r, param: v} for r in requests for v in values]
        return requests

    async def _fetch(self, http, params: dict) -> list:
        o, out = self.options, []
        url, page = o.url, o.pagination.start
        placed = {k: v for k, v in params.items() if "{" + k + "}" in url}
        if placed:
            url = url.format(**placed)
            params = {k: v for k, v in params.items() if k not in placed}
        request_params = {**params, **placed}
        throttled = (lambda body: _throttle_note(body, o.throttled_fields)) if o.throttled_fields else None
        for _ in range(o.pagination.max_pages):
            if o.pagination.type == "page":
                params = {**params, o.pagination.param: page}
            try:
                body = await http.get_json(url, params, throttled=throttled)
            except BadPayload as exc:
                return [*out, Rejected(exc.reason, exc.raw)]
            items = lookup(body, o.records) if o.records else body
            if o.records_shape == "mapping" and isinstance(items, dict):
                items = [{**v, "_key": k} if isinstance(v, dict) else v for k, v in items.items()]
            if not isinstance(items, list):
                return [*out, Rejected(f"no record list at {o.records!r} in the response", body)]
            for item in items:
                try:
                    out.append(apply(self.mapping, item, body, request_params))
                except MappingError as exc:
                    out.append(Rejected(str(exc), item))
            if o.pagination.type == "none" or not items:
                break
            if o.pagination.type == "page":
                page += 1
            elif o.pagination.type == "token":
                token = lookup(body, o.pagination.next_field)
                if not isinstance(token, str | int) or token == "":
                    break
                params = {**params, o.pagination.param: token}
            else:
                url, params = lookup(body, o.pagination.next_field), {}
                if not isinstance(url, str):
                    break
        return out

    def _advance(self, records: list) -> Batch:
        spec = self.options.cursor
        if spec is None:
            return Batch(records)
        last, seen = self.cursor.get("ts", 0), set(self.cursor.get("ids", []))
        known_rejects = self.cursor.get("rejected", [])
        fresh, rejects = [], []
        for record in records:
            ts = record.get(spec.field) if isinstance(record, dict) else None
            if isinstance(
                ts, int
            ):  # placed in time, so the cursor decides (even if the schema will reject it)
                if ts > last or (ts == last and str(record.get(spec.id_field)) not in seen):
                    fresh.append(record)
            else:  # unplaceable: remembered by content so the next poll does not dead-letter it again
                digest = _digest(record)
                if digest not in known_rejects:
                    known_rejects = [*known_rejects, digest][-REMEMBERED_REJECTS:]
                    rejects.append(
                        record
                        if isinstance(record, Rejected)
                        else Rejected(f"{spec.field}: missing, cannot be placed in time", record)
                    )
        fresh.sort(key=lambda r: r[spec.field])
        unique, keys = [], set()
        for record in fresh:  # the same record on two pages (or two fan-out requests) goes once
            key = (record[spec.field], str(record.get(spec.id_field)))
            if key not in keys:
                keys.add(key)
                unique.append(record)
        cursor = {**self.cursor, "rejected": known_rejects}
        if unique:
            top = unique[-1][spec.field]
            at_top = {str(r.get(spec.id_field)) for r in unique if r[spec.field] == top}
            cursor.update(ts=top, ids=sorted(at_top | (seen if top == last else set())))
        self.cursor = cursor
        return Batch(rejects + unique, dict(cursor))


def _digest(item) -> str:
    raw = item.raw if isinstance(item, Rejected) else item
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw, default=str)
    return hashlib.sha1(data).hexdigest()[:16]


def _throttle_note(body, fields: list[str]) -> str | None:
    if isinstance(body, dict):
        for key in fields:
            if key in body:
                return str(body[key])
    return None
