"""Field mapping for the YAML-configured adapters: vendor payload -> schema fields.

A mapping is {target_field: spec}. A spec is a source path ("source.name", "entities.*.symbol" over a
list, or a list of keys for keys that contain dots), or {from: path, as: transform, root: bool, param: name,
value: constant, join: [paths], sep: "|", map: {vendor value: ours}, no_data: [markers], add_ms: n,
tz: zone, format: strptime format, prefix: text}. `prefix` puts a constant before the value (a namespace
for series ids). `join` concatenates several fields with `sep` (then e.g. `as: uuid5`
makes a stable id of them); `map` translates vendor codes, any value it does not list becoming "other".
`no_data` lists the vendor's markers for a missing value (FRED's ".", Alpha Vantage's "None", the Census
Bureau's "-666666666"): such a record is dead-lettered naming the marker, never loaded as a number;
`absent` lists markers that leave an optional field out (IEX's 0 for "no bid").
`root: true` reads the whole response body instead of the record (e.g. the symbol in Alpha Vantage's
"Meta Data"); `param` reads the request parameter (FRED's series_id). Time transforms read a zoneless time
in `tz` (a vendor's local market time, for one). An absent source field leaves the target absent, so the
schema names it as missing; a `join` over an absent field is a MappingError (an id made of "nothing" would
collide). Any transform failure is a MappingError naming the target, so an adapter dead-letters the record.
Options models type their mapping as `Mapping`: an unknown transform, time zone or a `strptime` without a
format then fails at load under `...mapping.<target>.<key>`.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

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


def _rfc2822_ms(value, tz):
    """RFC 2822 dates, as e-mail and RSS carry them: "Wed, 17 May 2017 14:20:15 -0400" (Benzinga)."""
    try:
        moment = parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError):
        raise MappingError(f"{value!r} is not an RFC 2822 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp() * 1000)


_PERIOD = re.compile(r"^(\d{4})(?:(Q)([1-4])|(?:M|-)(0[1-9]|1[0-2]))?$")


def _period_ms(value, tz):
    """The start of a statistical period: "2024" (year), "2024Q3" (quarter, BEA), "2024M07" (month, BEA),
    "2024-07" (month, the Census Bureau); a plain YYYY-MM-DD date as date_ms does."""
    text = str(value).strip()
    match = _PERIOD.match(text)
    if match is None:
        return _date_ms(text, tz) if len(text) == 10 else _no_period(value)
    year, quarter, month = int(match[1]), match[3], match[4]
    first_month = (int(quarter) - 1) * 3 + 1 if quarter else int(month or 1)
    return int(datetime(year, first_month, 1, tzinfo=tz).timestamp() * 1000)


def _no_period(value):
    raise MappingError(f"{value!r} is not a period (YYYY, YYYYQn, YYYYMmm, YYYY-MM or YYYY-MM-DD)")


def _strptime_ms(value, tz, fmt: str):
    try:
        moment = datetime.strptime(str(value).strip(), fmt)
    except ValueError:
        raise MappingError(f"{value!r} does not match the time format {fmt!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
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


def _us_number(value, tz):
    """A number as US statistics tables print it, thousands grouped: "27,956.0" (BEA's DataValue)."""
    return _float(str(value).strip().replace(",", "") if isinstance(value, str) else value, tz)


TRANSFORMS = {
    "float": _float,
    "int": _int,
    "str": lambda v, tz: str(v),
    "upper": lambda v, tz: str(v).strip().upper(),
    "iso_ms": _iso_ms,
    "date_ms": _date_ms,
    "us_date_ms": _us_date_ms,
    "rfc2822_ms": _rfc2822_ms,
    "period_ms": _period_ms,
    "us_number": _us_number,
    "seconds_ms": lambda v, tz: int(float(v) * 1000),
    "abs_int": lambda v, tz: abs(_int(v, tz)),  # a signed change in shares (Finnhub) as a count
    "uuid5": lambda v, tz: str(uuid.uuid5(NAMESPACE, str(v))),
    "cashtags": lambda v, tz: sorted(set(_CASHTAG.findall(str(v)))),
    "list": lambda v, tz: (
        [s.strip() for s in str(v).split(",") if s.strip()] if isinstance(v, str) else list(v)
    ),
}
# Transforms that take the spec's `format` too.
FORMATTED = {"strptime": _strptime_ms}


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: str | list[str] | None = Field(None, alias="from")
    transform: str | None = Field(None, alias="as")
    root: bool = False
    param: str | None = None
    value: Any = None
    join: list[str | list[str]] | None = None
    sep: str = "|"
    map: dict[str, str] | None = None
    no_data: list[str | int | float] = []
    absent: list[str | int | float] = []
    add_ms: int = 0
    tz: str = "UTC"
    format: str | None = None
    prefix: str = ""

    @field_validator("transform")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in TRANSFORMS and value not in FORMATTED:
            known = ", ".join([*TRANSFORMS, *FORMATTED])
            raise ValueError(f"unknown transform {value!r} (allowed: {known})")
        return value

    @model_validator(mode="after")
    def _format_given(self) -> FieldSpec:
        if (self.transform in FORMATTED) != (self.format is not None):
            raise ValueError(f"`format` goes with `as: {'|'.join(FORMATTED)}`, and only with it")
        return self

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


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _shown(path: str | list[str]) -> str:
    return path if isinstance(path, str) else ".".join(path)


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
            parts = [lookup(body if spec.root else record, path) for path in spec.join]
            missing = [_shown(p) for p, part in zip(spec.join, parts, strict=True) if part in (MISSING, None)]
            if missing:
                raise MappingError(f"{target}: joined field(s) {', '.join(missing)} missing")
            value = spec.sep.join(map(str, parts))
        elif spec.source is None:
            value = spec.value
        else:
            value = lookup(body if spec.root else record, spec.source)
            if value is MISSING or value is None:
                continue
        if spec.absent and _marked(value, spec.absent):
            continue
        if spec.no_data and _marked(value, spec.no_data):
            raise MappingError(f"{target}: {str(value)[:40]!r} is the vendor's marker for no data")
        if spec.map is not None:
            value = spec.map.get(str(value), "other")
        if spec.transform is not None:
            try:
                if spec.format is not None:
                    value = FORMATTED[spec.transform](value, _zone(spec.tz), spec.format)
                else:
                    value = TRANSFORMS[spec.transform](value, _zone(spec.tz))
            except (ValueError, TypeError, ArithmeticError) as exc:  # MappingError, and e.g. a year > 9999
                raise MappingError(f"{target}: {exc}") from None
        if spec.add_ms and isinstance(value, int):
            value += spec.add_ms
        if spec.prefix:
            value = f"{spec.prefix}{value}"
        out[target] = value
    return out


def _marked(value: Any, markers: list) -> bool:
    """`value` is one of the markers: the same text, or the same number (0 and 0.0 alike)."""
    if isinstance(value, str):
        return value.strip() in markers
    return not isinstance(value, bool) and isinstance(value, int | float) and value in markers


def selected(record: Any, where: dict) -> bool:
    """True when every `where` path of the record holds its value (or one of its listed values)."""
    for path, wanted in where.items():
        if lookup(record, path) not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True
