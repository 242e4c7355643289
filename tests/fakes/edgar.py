"""A local SEC EDGAR: the getcurrent Atom feed for Form 4, filing-folder index.json and ownershipDocument
XML, in EDGAR's formats; 403 without a declared User-Agent, as sec.gov answers undeclared tools."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from aiohttp import web

from tests.fakes.server import LoopbackServer

FORM4 = """<?xml version="1.0"?>
<ownershipDocument>
  <schemaVersion>X0508</schemaVersion>
  <documentType>4</documentType>
  <periodOfReport>{date}</periodOfReport>
  <issuer><issuerCik>0000320193</issuerCik><issuerName>Issuer</issuerName>
    <issuerTradingSymbol>{symbol}</issuerTradingSymbol></issuer>
  <reportingOwner>
    <reportingOwnerId><rptOwnerCik>0001214156</rptOwnerCik><rptOwnerName>{owner}</rptOwnerName></reportingOwnerId>
    <reportingOwnerRelationship><isDirector>0</isDirector><isOfficer>1</isOfficer>
      <officerTitle>Chief Financial Officer</officerTitle></reportingOwnerRelationship>
  </reportingOwner>
  <nonDerivativeTable>{transactions}</nonDerivativeTable>
</ownershipDocument>"""
TRANSACTION = """
    <nonDerivativeTransaction>
      <securityTitle><value>Common Stock</value></securityTitle>
      <transactionDate><value>{date}</value></transactionDate>
      <transactionCoding><transactionFormType>4</transactionFormType><transactionCode>{code}</transactionCode>
        <equitySwapInvolved>0</equitySwapInvolved></transactionCoding>
      <transactionAmounts><transactionShares><value>{shares}</value></transactionShares>
        <transactionPricePerShare><value>{price}</value></transactionPricePerShare>
        <transactionAcquiredDisposedCode><value>{ad}</value></transactionAcquiredDisposedCode></transactionAmounts>
    </nonDerivativeTransaction>"""


class FakeEdgar:
    def __init__(self) -> None:
        self.filings: list[dict] = []  # oldest first
        self.documents: dict[str, bytes] = {}
        self.forbidden = 0
        app = web.Application()
        app.router.add_get("/cgi-bin/browse-edgar", self._feed)
        app.router.add_get("/Archives/edgar/data/{cik}/{folder}/index.json", self._index)
        app.router.add_get("/Archives/edgar/data/{cik}/{folder}/{name}", self._document)
        self.server = LoopbackServer(app)

    @property
    def feed_url(self) -> str:
        return f"{self.server.url}/cgi-bin/browse-edgar?action=getcurrent&type=4&count=100&output=atom"

    async def start(self) -> FakeEdgar:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    def file(self, n: int, symbol: str, lines: list[tuple[str, int, float]], xml: str | None = None) -> str:
        """A Form 4 with (code, shares, price) lines; `xml` replaces the document (to send a broken one)."""
        accession = f"0001214156-26-{n:06d}"
        day = "2026-11-20"
        transactions = "".join(
            TRANSACTION.format(date=day, code=c, shares=s, price=p, ad="A" if c in "PAM" else "D")
            for c, s, p in lines
        )
        self.documents[accession.replace("-", "")] = (
            xml or FORM4.format(date=day, symbol=symbol, owner=f"Insider {n}", transactions=transactions)
        ).encode()
        self.filings.append(
            {"accession": accession, "updated": datetime.now(UTC).isoformat(timespec="seconds")}
        )
        return accession

    def _declared(self, request: web.Request) -> bool:
        if "@" in request.headers.get("User-Agent", ""):
            return True
        self.forbidden += 1
        return False

    async def _feed(self, request: web.Request) -> web.Response:
        if not self._declared(request):
            return web.Response(status=403, text="Your Request Originates from an Undeclared Automated Tool")
        folder = f"{self.server.url}/Archives/edgar/data/1214156"
        entries = "".join(
            f"""<entry><title>4 - Insider {f["accession"]}</title>
<link rel="alternate" type="text/html"
 href="{folder}/{f["accession"].replace("-", "")}/{f["accession"]}-index.htm"/>
<summary type="html">Filed: {f["updated"][:10]}</summary><updated>{f["updated"]}</updated>
<category scheme="https://www.sec.gov/" label="form type" term="4"/>
<id>urn:tag:sec.gov,2008:accession-number={f["accession"]}</id></entry>"""
            for f in reversed(self.filings)
        )
        atom = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Latest Filings</title>{entries}</feed>"""
        return web.Response(text=atom, content_type="application/atom+xml")

    async def _index(self, request: web.Request) -> web.Response:
        if not self._declared(request):
            return web.Response(status=403)
        folder = request.match_info["folder"]
        if folder not in self.documents:
            return web.Response(status=404)
        items = [
            {"name": f"{folder}-index.htm", "type": "text.gif"},
            {"name": "form4.xml", "type": "text.gif"},
        ]
        return web.Response(
            body=orjson.dumps({"directory": {"item": items, "name": folder}}), content_type="application/json"
        )

    async def _document(self, request: web.Request) -> web.Response:
        if not self._declared(request):
            return web.Response(status=403)
        doc = self.documents.get(request.match_info["folder"])
        return web.Response(body=doc, content_type="text/xml") if doc else web.Response(status=404)
