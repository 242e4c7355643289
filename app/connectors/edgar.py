"""SEC EDGAR Form 4 (insider transactions): the "current filings" Atom feed, then each filing's XML.

Flow: poll browse-edgar?action=getcurrent&type=4&output=atom (newest first); for each accession number not
yet delivered, read the filing folder's index.json, fetch its ownershipDocument XML and emit one
InsiderTrade per non-derivative transaction. SEC asks for a User-Agent naming a contact and at most 10
requests/second (sec.gov/os/accessing-edgar-data); a missing contact fails on load.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC

from pydantic import BaseModel, ConfigDict, Field

from app.catalog import duration_ms
from app.connectors.http import BadPayload, VendorError, VendorUnavailable
from app.connectors.mapping import TRANSFORMS, MappingError
from app.connectors.producer import Rejected
from app.connectors.runtime import Batch, Source
from app.schemas import BadRecord, parse_json

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}"
REMEMBERED = 2000
CODES = {"P": "buy", "S": "sell", "A": "grant", "M": "exercise", "X": "exercise", "G": "gift"}
_ACCESSION = re.compile(r"accession-number=(\d{10}-\d{2}-\d{6})")


class EdgarOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feed_url: str = "https://www.sec.gov/cgi-bin/browse-edgar?action=getcurrent&type=4&count=100&output=atom"
    user_agent: str = Field(pattern=r"^\S.*\S+@\S+\.\S+$", description="'Company contact@example.com'")
    schedule: str = "10m"


def _text(node: ET.Element | None, path: str) -> str | None:
    found = node.find(path) if node is not None else None
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def form4_trades(xml: bytes, accession: str, filed_at: int) -> list:
    """InsiderTrade dicts (or Rejected) for each non-derivative transaction of one ownershipDocument."""
    try:
        doc = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [Rejected(f"malformed Form 4 XML: {exc}", xml)]
    owner = doc.find("reportingOwner")
    relation = owner.find("reportingOwnerRelationship") if owner is not None else None
    title = _text(relation, "officerTitle") or (
        "Director" if _text(relation, "isDirector") in ("1", "true") else None
    )
    base = {
        "symbol": _text(doc, "issuer/issuerTradingSymbol"),
        "filed_at": filed_at,
        "insider_name": _text(owner, "reportingOwnerId/rptOwnerName"),
        "insider_title": title,
        "source": "sec-edgar-form4",
    }
    out = []
    for i, tx in enumerate(doc.findall("nonDerivativeTable/nonDerivativeTransaction"), 1):
        raw = {"accession": accession, "line": i}
        try:
            shares = _text(tx, "transactionAmounts/transactionShares/value")
            price = _text(tx, "transactionAmounts/transactionPricePerShare/value")
            record = {
                **base,
                "filing_id": f"{accession}:{i}",
                "timestamp": TRANSFORMS["date_ms"](_text(tx, "transactionDate/value"), UTC),
                "transaction_type": CODES.get(_text(tx, "transactionCoding/transactionCode") or "", "other"),
                "shares": TRANSFORMS["int"](shares, UTC) if shares else None,
                "price": TRANSFORMS["float"](price, UTC) if price else None,
            }
        except (MappingError, ValueError) as exc:
            out.append(
                Rejected(f"Form 4 line {i}: {exc}", {**raw, "xml": xml[:4096].decode("utf-8", "replace")})
            )
            continue
        if record["shares"] is not None and record["price"] is not None:
            record["total_value"] = round(record["shares"] * record["price"], 2)
        out.append({k: v for k, v in record.items() if v is not None})
    return out


class EdgarForm4Source(Source):
    Options = EdgarOptions

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        seen: list[str] = list((cursor or {}).get("seen", []))
        http = self.ctx.http(
            headers={"User-Agent": self.options.user_agent, "Accept-Encoding": "gzip, deflate"}
        )
        while True:
            try:
                feed = await http.get(self.options.feed_url)
                for accession, href, filed_at in reversed(self._entries(feed)):  # oldest first
                    if accession in seen:
                        continue
                    records = await self._filing(http, accession, href, filed_at)
                    seen = [*seen, accession][-REMEMBERED:]
                    yield Batch(records, {"seen": seen})
            except (VendorError, VendorUnavailable) as exc:
                log.error("%s: poll failed: %s", self.name, exc)
            except ET.ParseError as exc:
                log.error("%s: unreadable Atom feed: %s", self.name, exc)
            await asyncio.sleep(duration_ms(self.options.schedule) / 1000)

    def _entries(self, feed: bytes) -> list[tuple[str, str, int]]:
        entries = []
        for entry in ET.fromstring(feed).iter(f"{ATOM}entry"):
            match = _ACCESSION.search(_text(entry, f"{ATOM}id") or "")
            link = entry.find(f"{ATOM}link")
            updated = _text(entry, f"{ATOM}updated")
            if match and link is not None and updated:
                try:
                    filed_at = TRANSFORMS["iso_ms"](updated, UTC)
                except MappingError as exc:
                    log.error("%s: feed entry %s skipped: updated %s", self.name, match[1], exc)
                    continue
                entries.append((match[1], link.get("href", ""), filed_at))
        return entries

    async def _filing(self, http, accession: str, href: str, filed_at: int) -> list:
        folder = href.rsplit("/", 1)[0]
        try:
            index = parse_json(await http.get(f"{folder}/index.json"))
            items = index["directory"]["item"]
            xml_name = next(i["name"] for i in items if i["name"].endswith(".xml"))
        except (BadRecord, KeyError, TypeError, AttributeError, StopIteration) as exc:
            return [
                Rejected(f"filing {accession}: no ownership XML in index.json ({type(exc).__name__})", href)
            ]
        except BadPayload as exc:
            return [Rejected(exc.reason, exc.raw)]
        return form4_trades(await http.get(f"{folder}/{xml_name}"), accession, filed_at)
