"""Record schemas of every topic (docs/requirements.md#records), their validation, keys and serialization.

All times are integer epoch milliseconds (UTC). Prices fit decimal(10,4). Records on market-data-raw
carry a `type` (tick | quote | agg) and are keyed by symbol, so one symbol's events keep
their order inside one partition. `validate(schema, data)` raises `BadRecord` with a one-line reason.
"""

from __future__ import annotations

import time
from typing import Annotated, ClassVar, Literal, Union

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

# 1980-01-01: older is a unit mistake (seconds for ms) or a zero; newer than a day ahead is a clock bug.
MIN_TIMESTAMP_MS = 315_532_800_000
FUTURE_TOLERANCE_MS = 86_400_000


class BadRecord(ValueError):
    """A record that cannot enter its topic; str() is the dead-letter reason."""


def _plausible_ms(value: int) -> int:
    if value < MIN_TIMESTAMP_MS or value > time.time() * 1000 + FUTURE_TOLERANCE_MS:
        raise ValueError("timestamp must be epoch milliseconds between 1980-01-01 and one day from now")
    return value


TimestampMs = Annotated[int, Field(strict=True), AfterValidator(_plausible_ms)]
# Symbols: ASCII letters/digits plus the class/suffix punctuation vendors use (BRK.B, BF-B, ^GSPC, EUR/USD).
Symbol = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z0-9^][A-Z0-9.\-/:=^]{0,19}$"),
]

# Numbers are strict (no bools, no numeric strings): adapters convert vendor strings while mapping fields.
Price = Annotated[float, Field(strict=True, gt=0, lt=1_000_000, allow_inf_nan=False)]  # decimal(10,4)
Size = Annotated[int, Field(strict=True, ge=0, lt=10**15)]
Text = Annotated[str, StringConstraints(max_length=1_000_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


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
    timestamp: TimestampMs
    price: Price
    volume: Size
    bid: Price | None = None
    ask: Price | None = None
    bid_size: Size | None = None
    ask_size: Size | None = None
    sequence: Annotated[int, Field(strict=True)] | None = (
        None  # the vendor's per-symbol sequence number, when it has one
    )
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
    sequence: Annotated[int, Field(strict=True)] | None = None
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


MarketEvent = Annotated[Union[PriceTick, Quote, Aggregate], Field(discriminator="type")]  # noqa: UP007


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


class SocialPost(Record):
    key_field: ClassVar[str] = "id"
    id: ShortText
    platform: Literal["reddit", "twitter", "stocktwits"]
    community: str | None = None  # subreddit, or the stream's cashtag filter
    author: str | None = None
    title: str | None = None
    text: Text = ""
    url: str | None = None
    created_at: TimestampMs
    score: int | None = None
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
    insider_title: str | None = None
    transaction_type: Literal["buy", "sell", "grant", "exercise", "gift", "other"]
    shares: Size | None = None
    price: Annotated[float, Field(strict=True, ge=0, lt=1_000_000, allow_inf_nan=False)] | None = None
    total_value: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] | None = None
    source: ShortText


class EconomicIndicator(Record):
    key_field: ClassVar[str] = "series_id"
    series_id: ShortText
    timestamp: TimestampMs  # observation date
    value: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    unit: str | None = None
    frequency: str | None = None
    source: ShortText


# The enriched tick extends PriceTick, so its module imports this one's names defined above.
from app.schemas.processed import ProcessedTick  # noqa: E402

SCHEMAS: dict[str, object] = {
    "market_event": MarketEvent,
    "processed_tick": ProcessedTick,
    "article": Article,
    "social_post": SocialPost,
    "insider_trade": InsiderTrade,
    "economic_indicator": EconomicIndicator,
}
_ADAPTERS = {name: TypeAdapter(schema) for name, schema in SCHEMAS.items()}
_LIST_ADAPTERS = {name: TypeAdapter(list[schema]) for name, schema in SCHEMAS.items()}


def adapter(schema: str) -> TypeAdapter:
    try:
        return _ADAPTERS[schema]
    except KeyError:
        raise KeyError(f"unknown schema {schema!r} (known: {', '.join(SCHEMAS)})") from None


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


def validate(schema: str, data: object) -> Record:
    try:
        return _ADAPTERS[schema].validate_python(data)
    except ValidationError as exc:
        raise BadRecord(reason(exc)) from None


def serialize(record: Record) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


def parse_json(raw: bytes | str) -> object:
    """orjson, which rejects NaN/Infinity literals as JSON does."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"malformed JSON: {exc}") from None
