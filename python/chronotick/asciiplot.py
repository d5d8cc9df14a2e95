"""Plots for a terminal: plain ASCII, readable in 80 columns."""
from __future__ import annotations

import numpy as np

from chronotick._validate import is_int

MIN_WIDTH = 20    # the 9-column value labels, the axis, and 10 plot columns
MIN_HEIGHT = 3
# at most: a terminal is far narrower, and the grid is a list of lists (a width of 3e8 had
# tried to allocate ~43 GB: an audit, 2026-12-05)
MAX_WIDTH = 1000
MAX_HEIGHT = 1000


def plot(series: list[tuple[np.ndarray, np.ndarray, str]], bands=(), width: int = 80, height: int = 18,
         y_label: str = "", x_label: str = "", title: str = "") -> str:
    """Scatter `series` [(x, y, char)] over shaded `bands` [(x, lower, upper, char)]
    into a text block `width` columns wide (MIN_WIDTH .. MAX_WIDTH) and `height` rows
    high (MIN_HEIGHT .. MAX_HEIGHT). Later series draw over earlier ones."""
    for name, v, least, most in (("width", width, MIN_WIDTH, MAX_WIDTH), ("height", height, MIN_HEIGHT, MAX_HEIGHT)):
        if not is_int(v):
            raise TypeError(f"{name} must be an integer number of columns/rows, got {type(v).__name__} {v!r}")
        if not least <= v <= most:
            raise ValueError(f"{name} must be in [{least}, {most}], got {v}")
    if not series and not bands:
        raise ValueError("nothing to plot: no series and no bands given")
    for kind, items, n_arrays in (("series", series, 2), ("bands", bands, 3)):
        for i, item in enumerate(items):
            arrays, ch = item[:n_arrays], item[n_arrays]
            sizes = [np.asarray(a, float).size for a in arrays]
            if len(set(sizes)) != 1:
                raise ValueError(f"{kind}[{i}]: its arrays differ in length ({', '.join(map(str, sizes))})")
            if not isinstance(ch, str) or len(ch) != 1:
                raise ValueError(f"{kind}[{i}]: the marker must be one character, got {ch!r}")
    xs = [np.asarray(s[0], float) for s in series] + [np.asarray(b[0], float) for b in bands]
    ys = [np.asarray(s[1], float) for s in series] + [np.asarray(b[i], float) for b in bands for i in (1, 2)]
    xs = np.concatenate([x[np.isfinite(x)] for x in xs])
    ys = np.concatenate([y[np.isfinite(y)] for y in ys])
    if xs.size == 0 or ys.size == 0:
        raise ValueError("nothing finite to plot")
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if not (np.isfinite(x1 - x0) and np.isfinite(y1 - y0)):
        raise ValueError(f"the values span more than a float64 can hold (x {x0:g} .. {x1:g}, y {y0:g} .. {y1:g})")
    # a span of nothing widened by enough to count at this magnitude (+-1 is no change at 1e17:
    # the span stayed 0 and every cell 0/0; an audit, 2026-12-06)
    if x1 == x0:
        x1 = x0 + max(1.0, abs(x0) * 1e-6)
    if y1 == y0:
        d = max(1.0, abs(y0) * 1e-6)
        y0, y1 = y0 - d, y1 + d
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    if not all(np.isfinite(v) for v in (x0, x1, y0, y1, x1 - x0, y1 - y0)):
        # widened or padded past the float64 range (|y| near 1.8e308): the cells were 0/0
        raise ValueError(f"the values span more than a float64 can hold once padded (x {x0:g} .. {x1:g}, "
                         f"y {y0:g} .. {y1:g})")
    # value labels on every third row: %8.2f where those fit in 8 columns and tell the rows
    # apart, else 6 significant digits, the label column as wide as the widest
    rows_lab = [r for r in range(height) if r % 3 == 0 or r == height - 1]
    vals = [y1 - r * (y1 - y0) / (height - 1) for r in rows_lab]
    labels = [f"{v:8.2f}" for v in vals]
    if max(map(len, labels)) > 8 or len(set(labels)) < len(labels):
        # as many significant digits as tell the rows apart (6 had printed 18000 on every row for
        # an 18 s offset in ms varying by 0.01)
        for digits in range(6, 18):
            labels = [f"{v:8.{digits}g}" for v in vals]
            if len(set(labels)) == len(labels):
                break
    label_of = dict(zip(rows_lab, labels))
    label_w = max(9, max(map(len, labels)) + 1)
    cols = width - label_w - 1
    if cols < 2:
        raise ValueError(f"width {width} leaves no room for the plot beside labels {label_w} columns wide")
    grid = [[" "] * cols for _ in range(height)]

    def cell(x, y):
        c = int(round((x - x0) / (x1 - x0) * (cols - 1)))
        r = int(round((y1 - y) / (y1 - y0) * (height - 1)))
        return r, c

    for x, lo, hi, ch in bands:
        for xi, a, b in zip(np.asarray(x, float), np.asarray(lo, float), np.asarray(hi, float)):
            if not (np.isfinite(xi) and np.isfinite(a) and np.isfinite(b)):
                continue
            r_hi, c = cell(xi, b)
            r_lo, _ = cell(xi, a)
            for r in range(max(r_hi, 0), min(r_lo, height - 1) + 1):
                grid[r][c] = ch
    for x, y, ch in series:
        for xi, yi in zip(np.asarray(x, float), np.asarray(y, float)):
            if np.isfinite(xi) and np.isfinite(yi):
                r, c = cell(xi, yi)
                grid[r][c] = ch
    lines = [title[:width]] if title else []
    for r, row in enumerate(grid):
        label = label_of[r].rjust(label_w - 1) + " " if r in label_of else " " * label_w
        lines.append(label + "|" + "".join(row))
    lines.append(" " * label_w + "+" + "-" * cols)
    left, right = f"{x0:.2f}", f"{x1:.2f}"
    mid = x_label[: max(0, cols - len(left) - len(right) - 2)]
    gap = cols - len(left) - len(right) - len(mid)
    lines.append(" " * (label_w + 1) + left + " " * (gap // 2) + mid + " " * (gap - gap // 2) + right)
    if y_label:
        lines.insert(1 if title else 0, y_label[:width])
    return "\n".join(line.rstrip() for line in lines)
