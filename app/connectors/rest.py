"""The generic REST-polling adapter: a vendor is a sources.yaml entry (endpoint, auth, headers,
pagination, schedule, quota, body format, record path and shape, field mapping), not code.

Each poll fetches every page since the cursor, maps records onto the topic's schema, drops those at or
before the cursor, and yields them oldest first with the new cursor. The cursor is the highest value of
`cursor.field` (an epoch-ms field of the mapped record) plus the ids seen at exactly that value, so a
restart neither skips a record nor sends one twice, even when many share a timestamp. It is one
high-water mark for the source: a fan-out's requests share it, so it suits feeds whose new records are
newer than everything delivered before.

Body shapes (`records_shape`) cover what vendors send: a list of records; a mapping of key -> record (the
key as `_key`); one object; rows, as a header row then value rows (the Census Bureau) or value rows with
the column names elsewhere in the body (Nasdaq Data Link). `unpivot` turns one vendor record with many
figures into one record per figure (`_field`, `_value`); `format: csv` reads a CSV body into records.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.catalog import duration_ms
from app.connectors.http import BadPayload, CredentialRefused, VendorError, VendorUnavailable, where
from app.connectors.mapping import MISSING, Mapping, MappingError, apply, lookup, selected
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
    # mapped field(s) identifying a record among those of one time (id, filing_id, [symbol, metric])
    id_field: str | list[str]
    param: str | None = None  # request parameter that asks for records since the cursor
    format: Literal["iso", "iso_naive", "ms", "seconds", "date"] = "iso"
    prefix: str = ""  # put before the formatted cursor: a filter syntax such as "record_date:gte:"
    # how far back the vendor serves (X's recent search: 7 days); an older cursor asks from there instead
    max_lookback: str | None = None

    @field_validator("max_lookback")
    @classmethod
    def _lookback(cls, value: str | None) -> str | None:
        if value is not None:
            duration_ms(value)
        return value

    def identity(self, record: dict) -> str:
        fields = [self.id_field] if isinstance(self.id_field, str) else self.id_field
        return "|".join(str(record.get(f)) for f in fields)

    def fields(self) -> list[str]:
        return [self.field, *([self.id_field] if isinstance(self.id_field, str) else self.id_field)]


KeyPath = str | list[str]  # a dotted path, or a list of keys (for keys that contain dots)


class RestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str  # may hold {name} placeholders filled from fan_out (e.g. /r/{subreddit}/new)
    # "{today}", "{this_year}" and "{last_year}" in a value become today's UTC date, this and last year
    params: dict[str, str | int | float] = {}
    headers: dict[str, str] = {}  # fixed request headers (Accept, a contact User-Agent); never secrets
    fan_out: dict[str, list[str]] = {}  # one request per value, e.g. {symbol: [IBM, MSFT]}
    schedule: str = "5m"
    format: Literal["json", "csv"] = "json"  # the body's format; CSV rows become records by header
    records: KeyPath = ""  # path of the records in the body; "" = the body itself
    # list: [record, ...]; mapping: {key: record} (key as `_key`); object: one record;
    # rows: [[value, ...], ...] named by `columns` (a path in the body), else by the first row
    records_shape: Literal["list", "mapping", "object", "rows"] = "list"
    columns: KeyPath | None = None
    records_optional: bool = False  # the vendor leaves the records out when there are none (X does)
    unpivot: dict[str, KeyPath] = {}  # {our figure name: vendor path}: one record per figure present
    where: dict[str, str | int | list[str | int]] = {}  # only records whose paths hold these values
    throttled_fields: list[str] = []  # body keys meaning "over quota" despite HTTP 200 (Alpha Vantage)
    error_fields: list[KeyPath] = []  # body paths meaning a refused request despite HTTP 200 (BEA)
    pagination: Pagination = Pagination()
    cursor: CursorSpec | None = None
    mapping: Mapping

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        duration_ms(value)
        return value

    @model_validator(mode="after")
    def _cursor_fields_mapped(self) -> RestOptions:
        missing = [f for f in (self.cursor.fields() if self.cursor else []) if f not in self.mapping]
        if missing:
            raise ValueError(f"cursor field(s) {', '.join(missing)} are not mapping targets")
        return self

    def requests_per_poll(self) -> int:
        """The most requests one poll makes (every fan-out value, every page), retries aside."""
        count = 1
        for values in self.fan_out.values():
            count *= len(values)
        return count * (1 if self.pagination.type == "none" else self.pagination.max_pages)


def _dated(value: str | int | float) -> str | int | float:
    if not isinstance(value, str) or "{" not in value:
        return value
    now = datetime.now(UTC)
    return (
        value.replace("{today}", now.strftime("%Y-%m-%d"))
        .replace("{this_year}", str(now.year))
        .replace("{last_year}", str(now.year - 1))
    )


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
        http = self.ctx.http(headers=dict(o.headers) or None)
        while True:
            fetched = []
            for key, params in self._requests():
                try:
                    fetched.append((key, await self._fetch(http, self._since(params, self._mark(key)))))
                except CredentialRefused:
                    raise
                except (VendorError, VendorUnavailable) as exc:
                    # this request's cursor stays: the next poll asks again; the others go on
                    log.error("%s: %s failed: %s", self.name, key or "the request", exc)
            if fetched:
                yield self._advance(fetched)
            await asyncio.sleep(duration_ms(o.schedule) / 1000)

    def _requests(self) -> list[tuple[str, dict]]:
        """(key, parameters) of each request of a poll: one per fan-out combination, keyed by it."""
        base = {k: _dated(v) for k, v in self.options.params.items()}
        requests = [("", base)]
        for param, values in self.options.fan_out.items():
            requests = [
                (f"{key}&{param}={v}".lstrip("&"), {**r, param: v}) for key, r in requests for v in values
            ]
        return requests

    def _mark(self, key: str) -> dict:
        """The cursor of one request: {ts, ids}. Each fan-out request has its own (a quarterly series must
        not be skipped because a daily one moved on); a cursor saved before that is every request's start."""
        if key and key in self.cursor.get("requests", {}):
            return self.cursor["requests"][key]
        return {k: self.cursor[k] for k in ("ts", "ids") if k in self.cursor}

    def _since(self, params: dict, mark: dict) -> dict:
        spec = self.options.cursor
        if spec is None or spec.param is None or "ts" not in mark:
            return params
        since = mark["ts"]
        if spec.max_lookback:
            since = max(since, int(time.time() * 1000) - duration_ms(spec.max_lookback))
        formatted = _format(since, spec.format)
        return {**params, spec.param: f"{spec.prefix}{formatted}" if spec.prefix else formatted}

    async def _fetch(self, http, params: dict) -> list:
        """One request's records, every page of it. A page the adapter cannot use (malformed, no records where
        configured) ends it with that page's Rejected alone: the request is fetched whole again next poll,
        so nothing it held is skipped past or sent twice."""
        o, out = self.options, []
        url, page = o.url, o.pagination.start
        placed = {k: v for k, v in params.items() if "{" + k + "}" in url}
        if placed:
            url = url.format(**placed)
            params = {k: v for k, v in params.items() if k not in placed}
        request_params = {**params, **placed}
        for _ in range(o.pagination.max_pages):
            if o.pagination.type == "page":
                params = {**params, o.pagination.param: page}
            try:
                body = await self._body(http, url, params)
            except BadPayload as exc:
                return [Rejected(exc.reason, exc.raw)]
            refused = _first_present(body, o.error_fields)
            if refused is not None:
                raise http.refused(f"{self.name}: {where(url)} refused the request: {str(refused)[:300]}")
            items = self._items(body)
            if isinstance(items, Rejected):
                return [items]
            for item in items:
                if o.where and not isinstance(item, Rejected) and not selected(item, o.where):
                    continue
                for one in self._unpivoted(item):
                    if isinstance(one, Rejected):
                        out.append(one)
                        continue
                    try:
                        out.append(apply(self.mapping, one, body, request_params))
                    except MappingError as exc:
                        out.append(self._placed(Rejected(str(exc), one), body, request_params))
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

    async def _body(self, http, url: str, params: dict) -> object:
        o = self.options
        if o.format == "csv":
            raw = await http.get(url, params)
            try:
                return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
            except (UnicodeDecodeError, csv.Error) as exc:
                raise BadPayload(f"{where(url)}: unreadable CSV: {exc}", raw) from None
        throttled = (lambda body: _throttle_note(body, o.throttled_fields)) if o.throttled_fields else None
        return await http.get_json(url, params, throttled=throttled)

    def _items(self, body) -> list | Rejected:
        """The body's records as a list, or a Rejected saying why the body holds none where configured."""
        o = self.options
        items = lookup(body, o.records) if o.records else body
        if items is MISSING and o.records_optional:
            return []
        shape = o.records_shape
        if shape == "mapping" and isinstance(items, dict):
            return [{**v, "_key": k} if isinstance(v, dict) else v for k, v in items.items()]
        if shape == "object" and isinstance(items, dict):
            return [items]
        if shape == "rows" and isinstance(items, list):
            return self._rows(body, items)
        if shape == "list" and isinstance(items, list):
            return items
        return Rejected(f"no {shape} of records at {o.records!r} in the response", body)

    def _rows(self, body, rows: list) -> list | Rejected:
        o = self.options
        if o.columns is None:
            header, rows = (rows[0], rows[1:]) if rows else ([], [])
        else:
            header = lookup(body, o.columns)
        if not isinstance(header, list) or not all(isinstance(c, str) for c in header):
            return Rejected(f"no column names at {o.columns or 'the first row'!r} in the response", body)
        out = []
        for row in rows:
            if isinstance(row, list) and len(row) == len(header):
                out.append(dict(zip(header, row, strict=True)))
            else:
                out.append(Rejected(f"row does not match the {len(header)} columns {header[:8]}", row))
        return out

    def _placed(self, reject: Rejected, body, params: dict) -> Rejected | Placed:
        """A record whose mapping failed, with its place in time when its cursor fields still map: the
        cursor then governs it as it governs good records (dead-lettered once, however often the vendor
        repeats it, with whatever metadata changed)."""
        spec = self.options.cursor
        if spec is None:
            return reject
        try:
            fields = apply({f: self.mapping[f] for f in spec.fields()}, reject.raw, body, params)
        except MappingError:
            return reject
        return Placed(reject, fields) if isinstance(fields.get(spec.field), int) else reject

    def _unpivoted(self, item) -> list:
        """The item itself, or with `unpivot` one copy per figure it holds, as `_field` and `_value`; a
        figure the vendor leaves out, null or empty is no observation (a tenor not yet issued, say)."""
        if not self.options.unpivot or isinstance(item, Rejected):
            return [item]
        if not isinstance(item, dict):
            return [Rejected("record is not an object", item)]
        out = []
        for name, path in self.options.unpivot.items():
            value = lookup(item, path)
            if value is not MISSING and value is not None and value != "":
                out.append({**item, "_field": name, "_value": value})
        return out

    def _advance(self, fetched: list[tuple[str, list]]) -> Batch:
        """The poll's new records, oldest first, after each request's cursor; the cursor that holds once they
        are delivered. A record in two requests' answers (an article on two symbols) goes once."""
        spec = self.options.cursor
        if spec is None:
            return Batch([record for _, records in fetched for record in records])
        known_rejects = self.cursor.get("rejected", [])
        rejects, fresh, marks = [], [], {}
        for key, records in fetched:
            mark = self._mark(key)
            last, seen = mark.get("ts", 0), set(mark.get("ids", []))
            new = []
            for record in records:
                fields = record.fields if isinstance(record, Placed) else record
                ts = fields.get(spec.field) if isinstance(fields, dict) else None
                if isinstance(
                    ts, int
                ):  # placed in time, so the cursor decides (even if the schema rejects it)
                    if ts > last or (ts == last and spec.identity(fields) not in seen):
                        new.append(record)
                    continue
                digest = _digest(record)  # unplaceable: remembered by content, dead-lettered once
                if digest not in known_rejects:
                    known_rejects = [*known_rejects, digest][-REMEMBERED_REJECTS:]
                    rejects.append(
                        record
                        if isinstance(record, Rejected)
                        else Rejected(f"{spec.field}: missing, cannot be placed in time", record)
                    )
            if new:
                top = max(_fields(r)[spec.field] for r in new)
                at_top = {spec.identity(_fields(r)) for r in new if _fields(r)[spec.field] == top}
                marks[key] = {"ts": top, "ids": sorted(at_top | (seen if top == last else set()))}
            fresh += new
        fresh.sort(key=lambda r: _fields(r)[spec.field])
        unique, keys = [], set()
        for record in fresh:  # the same record on two pages (or two fan-out requests) goes once
            key = (_fields(record)[spec.field], spec.identity(_fields(record)))
            if key not in keys:
                keys.add(key)
                unique.append(record.reject if isinstance(record, Placed) else record)
        self.cursor = self._updated(marks, known_rejects)
        return Batch(rejects + unique, dict(self.cursor))

    def _updated(self, marks: dict[str, dict], rejected: list) -> dict:
        if not self.options.fan_out:
            return {**self.cursor, **marks.get("", {}), "rejected": rejected}
        requests = {key: self._mark(key) for key, _ in self._requests()}
        requests = {key: mark for key, mark in {**requests, **marks}.items() if mark}
        return {"requests": requests, "rejected": rejected}


class Placed:
    """A Rejected and the cursor fields its record still maps to."""

    __slots__ = ("reject", "fields")

    def __init__(self, reject: Rejected, fields: dict) -> None:
        self.reject, self.fields = reject, fields


def _fields(record) -> dict:
    return record.fields if isinstance(record, Placed) else record


def _digest(item) -> str:
    raw = item.raw if isinstance(item, Rejected) else item
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw, default=str)
    return hashlib.sha1(data).hexdigest()[:16]


def _first_present(body, paths: list) -> object | None:
    for path in paths:
        found = lookup(body, path)
        if found is not MISSING:
            return found
    return None


def _throttle_note(body, fields: list[str]) -> str | None:
    if isinstance(body, dict):
        for key in fields:
            if key in body:
                return str(body[key])
    return None
