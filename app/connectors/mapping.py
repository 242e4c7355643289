"""Field mapping for the YAML-configured adapters: vendor payload -> schema fields.

A mapping is {target_field: spec}. A spec is a source path ("source.name", "entities.*.symbol" over a
list, or a list of keys for keys that contain dots), or {from: path, as: transform, root: bool, param: name,
value: constant, join: [paths], map: {vendor value: ours}, add_ms: n, tz: zone}. `join` concatenates
several fields (then e.g. `as: uuid5` makes a stable id of them); `map` translates vendor codes, any
value it does not list becoming "other". `root: true` reads the whole response body instead of the record
(e.g. the symbol in Alpha Vantage's "Meta Data"); `param` reads the request parameter (FRED's series_id).
An absent source field leaves the target absent, so the schema names it as missing; a `join` over an absent
field is a MappingError (an id made of "nothing" would collide). Any transform failure is a MappingError
naming the target, so an adapter dead-letters the record. Options models type their mapping as `Mapping`:
an unknown transform or time zone then fails at load under `...mapping.<target>.<key>`.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator

MISSING = object()
_CASHTAG = re.compile(r"\$([A-Z]{1,5}(?:\.[A-Z])?)\b")
NAMESPACE = uuid.UUID("4f0c6a56-8f3e-4c35-9a52-3f9b8e2c1d70")  # stable ids derived from vendor URLs/keys


class MappingError(ValueError):
    pass


def _iso_ms(value, tz):
    text = str(value).strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"{value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp() * 1000)


def _date_ms(value, tz):
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise MappingError(f"{value!r} is not a YYYY-MM-DD date") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def _us_date_ms(value, tz):
    try:
        moment = datetime.strptime(str(value).strip(), "%m/%d/%Y").replace(tzinfo=tz)
    except ValueError:
        raise MappingError(f"{value!r} is not a MM/DD/YYYY date") from None
    return int(moment.timestamp() * 1000)


def _float(value, tz):
    if isinstance(value, bool):
        raise MappingError(f"{value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MappingError(f"{str(value)[:40]!r} is not a number") from None


def _int(value, tz):
    """Integers, also as vendor strings like "1,200" or "1000.0"; a fraction is an error, not a truncation."""
    number = _float(str(value).strip().replace(",", "") if isinstance(value, str) else value, tz)
    if not number.is_integer():
        raise MappingError(f"{str(value)[:40]!r} is not an integer")
    return int(number)


TRANSFORMS = {
    "float": _float,
    "int": _int,
    "str": lambda v, tz: str(v),
    "upper": lambda v, tz: str(v).strip().upper(),
    "iso_ms": _iso_ms,
    "date_ms": _date_ms,
    "us_date_ms": _us_date_ms,
    "seconds_ms": lambda v, tz: int(float(v) * 1000),
    "uuid5": lambda v, tz: str(uuid.uuid5(NAMESPACE, str(v))),
    "cashtags": lambda v, tz: sorted(set(_CASHTAG.findall(str(v)))),
    "list": lambda v, tz: (
        [s.strip() for s in str(v).split(",") if s.strip()] if isinstance(v, str) else list(v)
    ),
}


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: str | list[str] | None = Field(None, alias="from")
    transform: str | None = Field(None, alias="as")
    root: bool = False
    param: str | None = None
    value: Any = None
    join: list[str] | None = None
    map: dict[str, str] | None = None
    add_ms: int = 0
    tz: str = "UTC"

    @field_validator("transform")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in TRANSFORMS:
            raise ValueError(f"unknown transform {value!r} (allowed: {', '.join(TRANSFORMS)})")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        return time_zone(value)


def time_zone(value: str) -> str:
    """`value` if it names an IANA time zone; a ValueError saying what is allowed otherwise."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as America/New_York)") from None
    return value


def _shorthand(raw: object) -> object:
    """`target: path` is short for `target: {from: path}`."""
    if isinstance(raw, dict):
        return {t: {"from": spec} if isinstance(spec, str | list) else spec for t, spec in raw.items()}
    return raw


Mapping = Annotated[dict[str, FieldSpec], BeforeValidator(_shorthand)]
_MAPPING = TypeAdapter(Mapping)


def parse_mapping(raw: dict) -> dict[str, FieldSpec]:
    return _MAPPING.validate_python(raw)


def lookup(doc: Any, path: str | list[str]) -> Any:
    keys = path.split(".") if isinstance(path, str) else list(path)
    for n, key in enumerate(keys):
        if key == "*" and isinstance(doc, list):
            found = [lookup(item, keys[n + 1 :]) for item in doc]
            return [item for item in found if item is not MISSING]
        if isinstance(doc, dict) and key in doc:
            doc = doc[key]
        elif isinstance(doc, list) and key.isdigit() and int(key) < len(doc):
            doc = doc[int(key)]
        else:
            return MISSING
    return doc


def apply(mapping: dict[str, FieldSpec], record: Any, body: Any, params: dict | None = None) -> dict:
    """The mapped record; raises MappingError naming the target field when a transform fails."""
    out = {}
    for target, spec in mapping.items():
        if spec.param is not None:
            value = (params or {}).get(spec.param)
        elif spec.join is not None:
            parts = [lookup(record, path) for path in spec.join]
            missing = [p for p, part in zip(spec.join, parts, strict=True) if part is MISSING or part is None]
            if missing:
                raise MappingError(f"{target}: joined field(s) {', '.join(missing)} missing")
            value = "|".join(map(str, parts))
        elif spec.source is None:
            value = spec.value
        else:
            value = lookup(body if spec.root else record, spec.source)
            if value is MISSING or value is None:
                continue
        if spec.map is not None:
            value = spec.map.get(str(value), "other")
        if spec.transform is not None:
            try:
                value = TRANSFORMS[spec.transform](value, ZoneInfo(spec.tz))
            except (ValueError, TypeError, ArithmeticError) as exc:  # MappingError, and e.g. a year > 9999
                raise MappingError(f"{target}: {exc}") from None
        if spec.add_ms and isinstance(value, int):
            value += spec.add_ms
        out[target] = value
    return out
