"""Terminal tables fit 100 columns (issue 14): they ran to 190–260 columns and wrapped into noise.

Long cells (model ids, licence names, check summaries) wrap inside their column onto continuation lines;
the widest columns narrow first, so short numeric columns stay whole.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from advisor.cli.options import column_blocks, column_widths
from tests.conftest import EXAMPLES, ROOT

COMMANDS = [
    ["catalog", "models"],
    ["catalog", "apis"],
    ["catalog", "hardware"],
    ["catalog", "licenses"],
    ["catalog", "quants"],
    ["licenses"],
    ["checks"],
    ["plugins", "--all"],
    ["fit", "Qwen/Qwen3-14B"],
    ["fit", "Qwen/Qwen3-14B", "--hardware", "2xa100-80gb"],
    ["cost", "--answers", str(EXAMPLES / "onprem-bank.yaml")],
    ["cost", "--answers", str(EXAMPLES / "ai-lab-build.yaml")],
    ["quality", "fit"],
]


def _table_lines(text: str) -> list[str]:
    """Lines of a column table: columns are separated by two spaces; prose and indented commands are not."""
    return [line for line in text.splitlines() if "  " in line.strip()]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_table_line_fits_100_columns(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode in (0, 1), proc.stderr
    lines = _table_lines(proc.stdout)
    assert lines, proc.stdout[:500]  # the command printed a table
    too_wide = [line for line in lines if len(line) > 100]
    assert not too_wide, too_wide[:3]


def test_widest_columns_narrow_first() -> None:
    """A 90-character summary gives way; the 7-character id beside it keeps its width."""
    widths = column_widths([["id", "summary"], ["COST001", "x" * 150]], 100)
    assert widths == [7, 91] and sum(widths) + 2 <= 100
    assert column_widths([["a", "b"], ["1", "2"]], 100) == [1, 1]  # narrow tables are left alone


def test_a_table_with_too_many_columns_prints_in_blocks_keyed_by_its_first_column() -> None:
    """16 columns cannot fit 100 characters even at 6 each: two blocks, each led by the key column."""
    columns = [f"c{i}" for i in range(16)]
    blocks = column_blocks(columns, 100)
    assert len(blocks) == 2 and all(block[0] == "c0" for block in blocks)
    assert [c for block in blocks for c in block[1:]] == columns[1:]
    assert column_blocks(columns[:5], 100) == [columns[:5]]


def test_a_wrapped_row_continues_on_lines_that_start_with_a_space(capsys: pytest.CaptureFixture[str]) -> None:
    """Scripts and readers tell a new row from a continuation: only a row's first line starts at column 0."""
    from advisor.cli.options import print_table

    print_table([{"id": "org/" + "a-very-long-model-name-" * 6, "n": 1}, {"id": "b", "n": 2}], ["id", "n"], width=40)
    lines = capsys.readouterr().out.splitlines()[2:]
    starts = [line for line in lines if not line.startswith(" ")]
    assert len(starts) == 2 and starts[1].startswith("b ") and all(len(line) <= 40 for line in lines)
