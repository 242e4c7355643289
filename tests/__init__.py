"""The test suite; its layout mirrors the source rooms."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
