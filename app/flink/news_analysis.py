"""What the news job computes per article: symbols mentioned, sentiment and news category. Plain Python,
so it is tested directly; app/flink/news.py runs it inside Flink.

Sentiment is VADER's compound score (already in [-1, 1]) over the title and the first part of the body,
with a finance lexicon on top of VADER's general one (words like "beat", "downgrade", "bankruptcy" carry
no sentiment in everyday English). Categories follow the thresholds of
docs/requirements.md#stream-processing: > 0.3 positive, < -0.3 negative.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

SYMBOLS_FILE = Path(__file__).with_name("symbols.yaml")
POSITIVE_ABOVE = 0.3
NEGATIVE_BELOW = -0.3
SCORED_CHARS = 2000  # title + lead: where news puts the point; long bodies dilute it

# Valences on VADER's -4..4 scale.
FINANCE_LEXICON = {
    "beat": 2.0,
    "beats": 2.0,
    "tops": 1.5,
    "topped": 1.5,
    "exceeds": 1.8,
    "exceeded": 1.8,
    "miss": -2.0,
    "misses": -2.0,
    "missed": -2.0,
    "shortfall": -2.0,
    "upgrade": 2.0,
    "upgrades": 2.0,
    "upgraded": 2.0,
    "downgrade": -2.2,
    "downgrades": -2.2,
    "downgraded": -2.2,
    "outperform": 1.8,
    "outperforms": 1.8,
    "underperform": -1.8,
    "underperforms": -1.8,
    "bullish": 2.2,
    "bearish": -2.2,
    "rally": 1.8,
    "rallies": 1.8,
    "surge": 2.0,
    "surges": 2.0,
    "soars": 2.2,
    "jumps": 1.5,
    "plunge": -2.4,
    "plunges": -2.4,
    "tumbles": -2.0,
    "slide": -1.6,
    "slides": -1.6,
    "antitrust": -1.2,
    "slumps": -2.0,
    "sinks": -1.8,
    "growth": 1.5,
    "profit": 1.6,
    "profits": 1.6,
    "profitable": 1.8,
    "dividend": 1.0,
    "loss": -1.6,
    "losses": -1.6,
    "layoffs": -2.0,
    "bankruptcy": -3.0,
    "default": -2.2,
    "fraud": -3.0,
    "lawsuit": -1.8,
    "probe": -1.5,
    "recall": -1.8,
    "recalls": -1.8,
    "recalled": -1.8,
    "fine": -1.2,
    "fined": -1.8,
    "penalty": -1.8,
    "writedown": -2.0,
    "impairment": -1.8,
    "delisted": -2.5,
    "dilution": -1.5,
    "volatile": -0.8,
}

CATEGORIES = {  # first match wins, in this order; everything else is "general"
    "earnings": r"earnings|quarterly results|(?:first|second|third|fourth)[- ]quarter"
    r"|q[1-4] (?:results|revenue|profit)|revenue|eps|per share|profit(?:s)?|net income",
    "ma": r"mergers?|acquisitions?|acquire[sd]?|takeover|buyout|to buy|deal to buy|merge[sd]?",
    "regulatory": r"fda|sec|ftc|doj|antitrust|regulator[sy]?|regulatory|approval|approves?|approved|probe"
    r"|lawsuit|fine[sd]?|sanction[s]?|investigation",
    "guidance": r"guidance|forecast[s]?|outlook|expects?|projects?|raises? (?:its )?(?:full-year )?target",
}
_CATEGORY_PATTERNS = {name: re.compile(rf"\b(?:{rx})\b", re.IGNORECASE) for name, rx in CATEGORIES.items()}
# $AAPL, $brk.b; not $5 or $5.2bn (digits) and not part of a longer token.
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,5}(?:\.[A-Za-z])?)(?![\w.]*\w)")


@cache
def _name_patterns(path: Path = SYMBOLS_FILE) -> list[tuple[str, re.Pattern]]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns = []
    for symbol, entry in entries.items():
        names = "|".join(re.escape(name) for name in entry["names"])
        exclusions = "|".join(re.escape(word) for word in entry.get("not_before", []))
        guard = rf"(?!\s+(?:{exclusions})\b)" if exclusions else ""
        patterns.append((symbol, re.compile(rf"(?<![\w$])(?:{names})(?!\w){guard}", 0)))
    return patterns


def extract_symbols(text: str) -> list[str]:
    """Cashtags and company names in `text`, upper-case, deduplicated, sorted."""
    found = {tag.upper() for tag in _CASHTAG.findall(text)}
    found.update(symbol for symbol, pattern in _name_patterns() if pattern.search(text))
    return sorted(found)


@cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(FINANCE_LEXICON)
    return analyzer


def sentiment_score(title: str, content: str = "") -> float:
    text = f"{title}. {content}"[:SCORED_CHARS]
    return round(_analyzer().polarity_scores(text)["compound"], 4)


def sentiment_category(score: float) -> str:
    if score > POSITIVE_ABOVE:
        return "positive"
    if score < NEGATIVE_BELOW:
        return "negative"
    return "neutral"


def news_category(title: str, content: str = "") -> str:
    """The title decides when it names a category; the body only when the title names none."""
    for text in (title, content[:SCORED_CHARS]):
        for name, pattern in _CATEGORY_PATTERNS.items():
            if pattern.search(text):
                return name
    return "general"
