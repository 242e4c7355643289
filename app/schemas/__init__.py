"""Record schemas of every topic (docs/requirements.md#records), their validation, keys and serialization.

All times are integer epoch milliseconds (UTC). Prices fit decimal(10,4). Records on market-data-raw
carry a `type` (tick | quote | agg) and are keyed by symbol, so one symbol's events keep
their order inside one partition. `validate(schema, data)` raises `BadRecord` with a one-line reason.
"""

from __future__ import annotations

import functools
import json
import operator
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Annotated, ClassVar, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
)

# 1980-01-01: older is a unit mistake (seconds for ms) or a zero; newer than a day ahead is a clock bug.
MIN_TIMESTAMP_MS = 315_532_800_000
FUTURE_TOLERANCE_MS = 86_400_000


class BadRecord(ValueError):
    """A record that cannot enter its topic; str() is the dead-letter reason, `code` a short form of it from
    a bounded set (a metric label: app/flink/news.py counts dead letters by it), named as the Flink job's
    tick parser names its rejects where they agree (empty_message, malformed_json, missing_field:price)."""

    def __init__(self, reason: object, code: str) -> None:
        super().__init__(str(reason))
        self.code = code


def _plausible_ms(value: int) -> int:
    if value < MIN_TIMESTAMP_MS or value > time.time() * 1000 + FUTURE_TOLERANCE_MS:
        raise ValueError("timestamp must be epoch milliseconds between 1980-01-01 and one day from now")
    return value


TimestampMs = Annotated[int, Field(strict=True), AfterValidator(_plausible_ms)]
# An event time on the raw topic may also be an ISO-8601 instant with its zone (a zoneless time is
# ambiguous); the Flink job's parser takes the same pattern (app/flink/market_data.py passes it on).
ISO_INSTANT_PATTERN = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|([+-])([0-9]{2}):([0-5][0-9]))"
)
_MAX_OFFSET = timedelta(hours=18)  # java.time's bound, which the job's parser applies


def _iso_instant_ms(value: object) -> object:
    if not isinstance(value, str):
        return value
    match = re.fullmatch(ISO_INSTANT_PATTERN, value)
    if match is None:
        raise ValueError("timestamp must be epoch milliseconds or an ISO-8601 instant with its zone")
    year, month, day, hour, minute, second, fraction, zone, sign, off_h, off_m = match.groups()
    offset = (
        timedelta()
        if zone == "Z"
        else (-1 if sign == "-" else 1) * timedelta(hours=int(off_h), minutes=int(off_m))
    )
    if abs(offset) > _MAX_OFFSET:
        raise ValueError("timestamp's zone offset must be within +-18:00")
    moment = datetime(*map(int, (year, month, day, hour, minute, second)), tzinfo=timezone(offset))
    return int(moment.timestamp()) * 1000 + int((fraction or "")[:3].ljust(3, "0"))


EventTimeMs = Annotated[TimestampMs, BeforeValidator(_iso_instant_ms)]
# Symbols: ASCII letters/digits plus the class/suffix punctuation vendors use (BRK.B, BF-B, ^GSPC, EUR/USD),
# trimmed of JSON whitespace and upper-cased (ASCII only: no Unicode case mapping turns "ﬀ" into "FF").
SYMBOL_STRIP = " \t\r\n"
SYMBOL_PATTERN = r"^[A-Z0-9^][A-Z0-9.\-/:=^]{0,19}$"
Symbol = Annotated[
    str,
    BeforeValidator(
        lambda v: (s.upper() if (s := v.strip(SYMBOL_STRIP)).isascii() else s) if isinstance(v, str) else v
    ),
    StringConstraints(pattern=SYMBOL_PATTERN),
]

# Numbers are strict (no bools, no numeric strings): adapters convert vendor strings while mapping fields.
PRICE_ABOVE, PRICE_BELOW = 0, 1_000_000  # exclusive bounds: decimal(10,4)
Price = Annotated[float, Field(strict=True, gt=PRICE_ABOVE, lt=PRICE_BELOW, allow_inf_nan=False)]
Size = Annotated[int, Field(strict=True, ge=0, lt=10**15)]
Text = Annotated[str, StringConstraints(max_length=1_000_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# A signed 64-bit integer (the job's and the database's bigint): a vendor's sequence number, a post's score.
BigInt = Annotated[int, Field(strict=True, ge=-(2**63), lt=2**63)]
Sequence = BigInt
# A vendor's trade id, a string or an integer on the wire (kept as its decimal text); bounded because it is
# part of market_data_ts's primary key (a btree entry has a size limit).
TRADE_ID_MAX_LENGTH = 128
TradeId = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
    Field(strict=True),
    StringConstraints(min_length=1, max_length=TRADE_ID_MAX_LENGTH),
]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    key_field: ClassVar[str]

    def key(self) -> bytes:
        return str(getattr(self, self.key_field)).encode()


class PriceTick(Record):
    """A price tick; also a trade (bid/ask absent)."""

    key_field: ClassVar[str] = "symbol"
    type: Literal["tick"] = "tick"
    symbol: Symbol
    timestamp: EventTimeMs
    price: Price
    volume: Size
    bid: Price | None = None
    ask: Price | None = None
    bid_size: Size | None = None
    ask_size: Size | None = None
    sequence: Sequence | None = None  # the vendor's per-symbol sequence number, when it has one
    trade_id: TradeId | None = None
    source: ShortText


class Quote(Record):
    key_field: ClassVar[str] = "symbol"
    type: Literal["quote"] = "quote"
    symbol: Symbol
    timestamp: TimestampMs
    bid: Price
    ask: Price
    bid_size: Size
    ask_size: Size
    sequence: Sequence | None = None
    source: ShortText


class Aggregate(Record):
    """An OHLCV bar; `timestamp` is the bar's start, `end_timestamp` its end."""

    key_field: ClassVar[str] = "symbol"
    type: Literal["agg"] = "agg"
    symbol: Symbol
    timestamp: TimestampMs
    end_timestamp: TimestampMs
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size
    vwap: Price | None = None
    source: ShortText


def _market_type(data: object) -> object:
    """A raw record's type; one without is a tick (PriceTick's default), as the Flink job reads it. Anything
    but a mapping is left to PriceTick to refuse, naming what it got."""
    if isinstance(data, dict):
        return data.get("type", "tick")
    return getattr(data, "type", "tick")


MARKET_MODELS: dict[str, type[Record]] = {"tick": PriceTick, "quote": Quote, "agg": Aggregate}
MARKET_TYPES = tuple(MARKET_MODELS)
MarketEvent = Annotated[
    functools.reduce(operator.or_, (Annotated[model, Tag(tag)] for tag, model in MARKET_MODELS.items())),
    Discriminator(_market_type),
]


class Article(Record):
    """A news article; sentiment_score is filled downstream (news-sentiment-stream)."""

    key_field: ClassVar[str] = "id"
    id: Annotated[
        str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    ]
    title: ShortText
    content: Text = ""
    url: str | None = None
    source: ShortText
    published_at: TimestampMs
    sentiment_score: Annotated[float, Field(strict=True, ge=-1, le=1, allow_inf_nan=False)] | None = None
    symbols_mentioned: list[Symbol] = []
    categories: list[str] = []


# The news job's article categories (app/flink/news_analysis.py CATEGORIES, plus "general").
NewsCategory = Literal["earnings", "ma", "regulatory", "guidance", "general"]


class ScoredArticle(Article):
    """An article as the news job writes it to news-sentiment-stream: its symbols, score and categories."""

    sentiment_score: Annotated[float, Field(strict=True, ge=-1, le=1, allow_inf_nan=False)]
    sentiment_category: Literal["positive", "negative", "neutral"]
    categories: list[NewsCategory] = Field(min_length=1)
    processed_at: TimestampMs
    pipeline_version: ShortText | None = None


class SocialPost(Record):
    key_field: ClassVar[str] = "id"
    id: ShortText
    platform: Literal["reddit", "twitter", "stocktwits"]
    community: ShortText | None = None  # subreddit, or the stream's cashtag filter
    author: ShortText | None = None
    title: Text | None = None
    text: Text = ""
    url: Text | None = None
    created_at: TimestampMs
    score: BigInt | None = None  # votes or likes
    symbols_mentioned: list[Symbol] = []
    source: ShortText


class InsiderTrade(Record):
    """A Form 4 transaction line or a congressional disclosure; keyed by symbol."""

    key_field: ClassVar[str] = "symbol"
    filing_id: ShortText
    symbol: Symbol
    timestamp: TimestampMs  # transaction date
    filed_at: TimestampMs
    insider_name: ShortText
    insider_title: ShortText | None = None
    transaction_type: Literal["buy", "sell", "grant", "exercise", "gift", "other"]
    shares: Size | None = None
    price: Annotated[float, Field(strict=True, ge=0, lt=1_000_000, allow_inf_nan=False)] | None = None
    # decimal(15,2), the storage schema's: up to ten trillion
    total_value: Annotated[float, Field(strict=True, ge=0, lt=10**13, allow_inf_nan=False)] | None = None
    source: ShortText


class EconomicIndicator(Record):
    key_field: ClassVar[str] = "series_id"
    series_id: ShortText
    timestamp: TimestampMs  # observation date
    value: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    unit: ShortText | None = None
    frequency: ShortText | None = None
    source: ShortText


class CompanyMetric(Record):
    """One number a vendor reports about a company at a time: a fundamental (EPS, market capitalisation), a
    vendor-computed technical (RSI), an analyst count, a sentiment score, a dividend; keyed by symbol."""

    key_field: ClassVar[str] = "symbol"
    symbol: Symbol
    metric: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]  # ours, e.g. eps_actual
    timestamp: TimestampMs  # the end of the period it describes, or when it was observed
    value: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    period: ShortText | None = None  # the vendor's label of the period ("2024Q1", "FY2023", "0m")
    unit: ShortText | None = None
    source: ShortText


# The enriched tick extends PriceTick, so its module imports this one's names defined above.
from app.schemas.processed import ProcessedTick  # noqa: E402

SCHEMAS: dict[str, object] = {
    "market_event": MarketEvent,
    "processed_tick": ProcessedTick,
    "article": Article,
    "scored_article": ScoredArticle,
    "social_post": SocialPost,
    "insider_trade": InsiderTrade,
    "economic_indicator": EconomicIndicator,
    "company_metric": CompanyMetric,
}
_ADAPTERS = {name: TypeAdapter(schema) for name, schema in SCHEMAS.items()}
_LIST_ADAPTERS = {name: TypeAdapter(list[schema]) for name, schema in SCHEMAS.items()}


def adapter(schema: str) -> TypeAdapter:
    try:
        return _ADAPTERS[schema]
    except KeyError:
        raise KeyError(f"unknown schema {schema!r} (known: {', '.join(SCHEMAS)})") from None


def field_names(schema: str) -> frozenset[str]:
    """The fields a record of `schema` can carry (for market_event, those of any of its types)."""
    adapter(schema)
    found = SCHEMAS[schema]
    models = [found] if isinstance(found, type) else [Quote, Aggregate, PriceTick]
    return frozenset(name for model in models for name in model.model_fields)


def list_adapter(schema: str) -> TypeAdapter:
    """Validates a whole list in one call (a hot path's per-call overhead, paid once)."""
    adapter(schema)
    return _LIST_ADAPTERS[schema]


def reason(exc: ValidationError) -> str:
    """The first validation problem as `field: message (got value)`, short enough for a header."""
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    got = first.get("input")
    shown = "" if first["type"] == "missing" or isinstance(got, dict) else f" (got {repr(got)[:60]})"
    return f"{where}: {first['msg']}{shown}"


# pydantic error types -> the kind of a validation reject's code (the rest: invalid).
_WRONG_TYPE = ("_type", "_parsing", "is_instance_of")
_OUT_OF_RANGE = ("greater_than", "less_than", "too_long", "too_short", "finite_number")


def reject_code(exc: ValidationError, schema: str) -> str:
    """The first problem as `<kind>:<field>`: missing_field, wrong_type, out_of_range or invalid, with the
    first of the schema's fields on the problem's path (a market event's path starts with its type's tag).
    A type tag that names no type is `unknown_type`; a field the schema does not know is `unknown_field`
    (its name is the sender's, an unbounded label)."""
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        return "unknown_field"
    if kind == "union_tag_invalid":
        return "unknown_type"
    if kind == "missing":
        kind = "missing_field"
    elif kind.endswith(_WRONG_TYPE):
        kind = "wrong_type"
    elif any(part in kind for part in _OUT_OF_RANGE):
        kind = "out_of_range"
    else:
        kind = "invalid"
    known = field_names(schema)
    field = next((part for part in first["loc"] if part in known), None)
    return f"{kind}:{field}" if field else kind


def validate(schema: str, data: object) -> Record:
    try:
        return _ADAPTERS[schema].validate_python(data)
    except ValidationError as exc:
        raise BadRecord(reason(exc), reject_code(exc, schema)) from None


def serialize(record: Record) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


MALFORMED_JSON = "malformed_json"
# How deep a record's JSON may nest (the top-level object is 1): records are flat, this bounds the rest.
MAX_JSON_DEPTH = 16


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) != len(pairs):
        raise BadRecord("malformed JSON: duplicate key", MALFORMED_JSON)
    return record


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def parse_record(raw: bytes, max_bytes: int) -> object:
    """A record's bytes as strict JSON, the rules the Flink job's parser applies: at most max_bytes, UTF-8
    without a byte-order mark, exactly one JSON document and nothing after it but whitespace, no duplicate
    keys, no NaN/Infinity, at most MAX_JSON_DEPTH levels of nesting. Anything else is a BadRecord."""
    if not raw:
        raise BadRecord("empty message", "empty_message")
    if len(raw) > max_bytes:
        raise BadRecord(f"message of {len(raw)} bytes over {max_bytes}", "message_too_large")
    try:
        text = bytes(raw).decode("utf-8")  # strict: no overlong forms, no encoded surrogates
    except UnicodeDecodeError as exc:
        raise BadRecord(f"not UTF-8: {exc.reason} at byte {exc.start}", "invalid_utf8") from None
    if text.startswith("\ufeff"):
        raise BadRecord("malformed JSON: byte-order mark", MALFORMED_JSON)

    def no_constant(name: str):
        raise BadRecord(f"malformed JSON: {name}", MALFORMED_JSON)

    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=no_constant)
    except RecursionError:
        raise BadRecord(f"malformed JSON: nested deeper than {MAX_JSON_DEPTH}", MALFORMED_JSON) from None
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        if isinstance(exc, BadRecord):
            raise
        raise BadRecord(f"malformed JSON: {exc}", MALFORMED_JSON) from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRecord(f"malformed JSON: nested deeper than {MAX_JSON_DEPTH}", MALFORMED_JSON)
    return data


def parse_json(raw: bytes | str) -> object:
    """orjson, which rejects NaN/Infinity literals as JSON does."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"malformed JSON: {exc}", MALFORMED_JSON) from None
