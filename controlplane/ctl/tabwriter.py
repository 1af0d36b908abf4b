"""Go's text/tabwriter, which kubectl's `describe` output is laid out with.

Cells are separated by tabs; a cell followed by a tab is aligned with the cells
of the same column on the neighbouring lines that also have one (a "column
block"), the last cell of a line is not. Each block is as wide as its widest cell
plus the padding. This is why `Name:` and `Annotations:` line up while a nested
section starts a new alignment.
"""

from __future__ import annotations


def render(lines: list[str], padding: int = 2, minwidth: int = 0) -> str:
    rows = [line.split("\t") for line in lines]
    widths: list[list[int]] = [[0] * max(len(r) - 1, 0) for r in rows]
    _format(rows, widths, 0, 0, len(rows), padding, minwidth)
    out = []
    for row, row_widths in zip(rows, widths, strict=True):
        cells = [cell.ljust(row_widths[i]) for i, cell in enumerate(row[:-1])]
        out.append("".join(cells) + row[-1])
    return "\n".join(out) + ("\n" if out else "")


def _format(rows, widths, column: int, start: int, end: int, padding: int, minwidth: int):
    line = start
    while line < end:
        if column >= len(rows[line]) - 1:
            line += 1
            continue
        block_end = line
        while block_end < end and column < len(rows[block_end]) - 1:
            block_end += 1
        width = max(len(rows[i][column]) for i in range(line, block_end)) + padding
        width = max(width, minwidth)
        for i in range(line, block_end):
            widths[i][column] = width
        _format(rows, widths, column + 1, line, block_end, padding, minwidth)
        line = block_end
