"""Symbols, sentiment and categories of the news job against headlines labelled by hand (headlines.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.flink import news_analysis

LABELLED = yaml.safe_load((Path(__file__).with_name("headlines.yaml")).read_text())


@pytest.mark.parametrize("case", LABELLED, ids=[c["text"][:40] for c in LABELLED])
def test_symbols(case):
    assert news_analysis.extract_symbols(case["text"]) == sorted(case["symbols"])


@pytest.mark.parametrize("case", LABELLED, ids=[c["text"][:40] for c in LABELLED])
def test_sentiment_category(case):
    score = news_analysis.sentiment_score(case["text"])
    assert -1.0 <= score <= 1.0
    assert news_analysis.sentiment_category(score) == case["sentiment"], score


@pytest.mark.parametrize("case", LABELLED, ids=[c["text"][:40] for c in LABELLED])
def test_news_category(case):
    assert news_analysis.news_category(case["text"]) == case["category"]


def test_thresholds_are_the_briefs():
    assert news_analysis.sentiment_category(0.3) == "neutral"
    assert news_analysis.sentiment_category(0.3001) == "positive"
    assert news_analysis.sentiment_category(-0.3) == "neutral"
    assert news_analysis.sentiment_category(-0.3001) == "negative"


def test_finance_words_carry_sentiment_that_plain_vader_misses():
    assert news_analysis.sentiment_score("Analysts downgrade the stock") < -0.3
    assert news_analysis.sentiment_score("Results beat estimates") > 0.3


def test_title_category_wins_over_body():
    body = "The company also reported quarterly revenue."
    assert news_analysis.news_category("Board approves merger with rival", body) == "ma"
    assert news_analysis.news_category("A quiet day", body) == "earnings"
