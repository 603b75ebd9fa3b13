"""A small SVG writer for the report's histograms (fixed-edge bins of corpusprep.histogram).

Hand-written rather than matplotlib: a bar chart is ~60 lines of SVG text, the page stays a few KB per
plot with selectable text, and `report` starts without importing a plotting stack.
"""
from __future__ import annotations

from html import escape

from corpusprep.histogram import bin_index

W, H, PAD_L, PAD_B, PAD_T = 560, 190, 48, 34, 14
MARKS = (("p50", "#2b8a3e"), ("p90", "#e67700"), ("p99", "#c92a2a"))


def _fmt(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else str(n)


def histogram_svg(hist: dict, title: str) -> str:
    """Bars over the bin index (log-spaced above 32, so a long tail stays readable); percentile lines."""
    bins = hist.get("bins") or []
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>')
    if not bins:
        return head + f'<text x="{W // 2}" y="{H // 2}" text-anchor="middle">no data</text></svg>'
    first, last = int(bin_index([bins[0][0]])[0]), int(bin_index([bins[-1][0]])[0])
    span = last - first + 1
    plot_w, plot_h = W - PAD_L - 8, H - PAD_B - PAD_T
    bw = plot_w / span
    top = max(n for _, _, n in bins)
    parts = [head, f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{W - 8}" y2="{PAD_T + plot_h}" stroke="#444"/>',
             f'<text x="{PAD_L - 4}" y="{PAD_T + 8}" text-anchor="end" font-size="10">{_fmt(top)}</text>',
             f'<text x="{PAD_L - 4}" y="{PAD_T + plot_h}" text-anchor="end" font-size="10">0</text>']
    for lo, hi, n in bins:
        i = int(bin_index([lo])[0]) - first
        h = max(1.0, plot_h * n / top)
        x = PAD_L + i * bw
        parts.append(f'<rect x="{x:.2f}" y="{PAD_T + plot_h - h:.2f}" width="{max(bw - 0.5, 0.5):.2f}" '
                     f'height="{h:.2f}" fill="#4c6ef5"><title>[{lo}, {hi}): {n}</title></rect>')
    ticks = sorted({0, span // 4, span // 2, 3 * span // 4, span - 1})
    by_index = {int(bin_index([lo])[0]) - first: lo for lo, _, _ in bins}
    for t in ticks:
        lo = by_index.get(t, _lower_edge(first + t))
        x = PAD_L + (t + 0.5) * bw
        parts.append(f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" font-size="10">{_fmt(lo)}</text>')
    for key, color in MARKS:
        if key in hist:
            i = int(bin_index([hist[key]])[0]) - first
            x = PAD_L + (i + 0.5) * bw
            parts.append(f'<line x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + plot_h}" stroke="{color}" '
                         f'stroke-dasharray="3,2"><title>{key} {hist[key]}</title></line>')
    parts.append(f'<text x="{PAD_L + plot_w / 2:.0f}" y="{H - 4}" text-anchor="middle" font-size="11">'
                 f'{escape(title)} (log-spaced bins above 32)</text></svg>')
    return "".join(parts)


def _lower_edge(index: int) -> int:
    from corpusprep.histogram import bin_edges

    return bin_edges(index)[0]
