"""Helpers for the importer tests: write a CSV literal and read it all back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_coop.importers.metering.common import CHUNK_COLUMNS, ParseReport
from energy_coop.importers.metering.csv_readings import iter_csv_chunks

DATA = Path(__file__).resolve().parents[2] / "data"


def read_all(path: Path, **kwargs) -> tuple[pd.DataFrame, ParseReport, int]:
    """All chunks of a CSV concatenated, the report, and how many chunks there were."""
    report = ParseReport()
    chunks = list(iter_csv_chunks(path, report=report, **kwargs))
    df = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=list(CHUNK_COLUMNS))
    return df, report, len(chunks)


@pytest.fixture
def write_csv(tmp_path):
    def write(text: str | bytes, name: str = "readings.csv") -> Path:
        path = tmp_path / name
        if isinstance(text, str):
            text = text.encode("utf-8")
        path.write_bytes(text)
        return path

    return write
