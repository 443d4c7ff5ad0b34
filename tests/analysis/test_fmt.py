"""Numbers for reading: separators for counts, 2-3 significant digits, intervals, units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import fmt
from analysis.tables import display_cells, to_latex, to_markdown


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.7634, 3, "0.763"),
        (0.7634, 2, "0.76"),
        (30752.4, 3, "30,752"),  # whole units from 10**(digits-1): no false zeros
        (-1234.5, 3, "-1,234"),
        (12.345, 3, "12.3"),
        (0.996, 2, "1.0"),  # rounding carries into the next digit
        (-0.5, 3, "-0.500"),
        (0.0, 3, "0"),
        (1.23e-6, 2, "1.2e-06"),
        (float("nan"), 3, ""),
        (None, 3, ""),
    ],
)
def test_number(value: object, digits: int, text: str) -> None:
    assert fmt.number(value, digits) == text


def test_interval_shares_decimals_and_count_separates_thousands() -> None:
    assert fmt.interval(0.7634, 0.6219, 0.8512) == "0.76 [0.62, 0.85]"
    assert fmt.interval(0.072, 0.020, 0.43) == "0.07 [0.02, 0.43]"
    assert fmt.interval(-1234.4, -1500.2, -1000.0) == "-1,234 [-1,500, -1,000]"
    assert fmt.interval(float("nan"), 0.1, 0.2) == ""
    assert fmt.count(30752.0) == "30,752" and fmt.count(np.int64(1_000_000)) == "1,000,000"
    assert [fmt.seconds(v) for v in (2.13, 750.0, 9000.0)] == ["2.1 s", "12 min", "2.5 h"]


def test_cells_by_column_never_scientific() -> None:
    frame = pd.DataFrame(
        {
            "frames": [30752.0, 3.075e4],
            "aggregate_rank": [1.0, 1.5],
            "p_rank_first": [1.0, 0.0],
            "friedman_p": [0.0123, 1.2e-5],
            "return_mean": [30752.4, -0.01234],
            "completed": [True, np.bool_(False)],
            "policy_parameters": [67586.0, np.nan],
        }
    )
    head, rows = display_cells(frame)
    assert head == list(frame.columns)
    assert rows[0] == ["30,752", "1", "1.00", "0.012", "30,752", "yes", "67,586"]
    assert rows[1] == ["30,750", "1.5", "0.00", "1.2e-05", "-0.0123", "no", ""]
    md = to_markdown(frame)
    assert "30,752" in md and "e+" not in md
    bold = pd.DataFrame({"iqm": ["**0.76 [0.62, 0.85]**"], "algo": ["sac_v2"]})
    assert r"\textbf{0.76 [0.62, 0.85]}" in to_latex(bold) and r"sac\_v2" in to_latex(bold)
