"""The evaluation report as one self-contained HTML page: inline CSS and SVG charts, no
script and nothing fetched, so it can be mailed, archived or printed as it is."""

from __future__ import annotations

from html import escape

from telemachus.feedback.reporting.cells import Cell, Kind, Metric
from telemachus.feedback.reporting.evaluation import EvaluationReport

SPLIT_TITLES = {
    "mode": "by pairing mode",
    "institution": "by home institution",
    "profession": "by profession",
    "institutions": "by institutions (mentor's → mentee's)",
    "professions": "by professions (mentor's → mentee's)",
    "category": "by category",
}
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;margin:2rem auto;
max-width:70rem;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #2d6a8e;padding-bottom:.2rem;
margin-top:2.2rem}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
.meta{color:#5b6775}.metric{break-inside:avoid;margin-bottom:1.2rem}
table{border-collapse:collapse;margin:.3rem 0;font-size:.9rem}
td,th{padding:.2rem .6rem;border-bottom:1px solid #dde3ea;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}.hidden{color:#8a96a3;font-style:italic}
.split{display:grid;grid-template-columns:repeat(auto-fill,minmax(26rem,1fr));gap:.5rem 2rem}
.notes li{color:#3c4a59;font-size:.9rem}svg{display:block}
"""
BAR, GAP, LABEL, WIDTH = 16, 5, 160, 200


def _number(kind: Kind, value: float | None) -> str:
    if value is None:
        return ""
    if kind is Kind.COUNT:
        return f"{value:.0f}"
    if kind is Kind.RATE:
        return f"{value * 100:.0f}%"
    return f"{value:+.2f}" if value < 0 else f"{value:.2f}"


def _interval(kind: Kind, c: Cell) -> str:
    if c.low is None or c.high is None:
        return ""
    return f"{_number(kind, c.low)} to {_number(kind, c.high)}"


def _scale(metric: Metric, cells: list[Cell]) -> tuple[float, float]:
    if metric.kind is Kind.RATE:
        return 0.0, 1.0
    values = [v for c in cells for v in (c.value, c.low, c.high) if v is not None]
    low = min([0.0, *values])
    high = max([1.0, *values])
    if metric.id.endswith(".change"):
        bound = max(abs(low), abs(high))
        return -bound, bound
    return low, high


def chart(metric: Metric, cells: list[Cell]) -> str:
    """Horizontal bars with 95% interval whiskers; suppressed cells are labelled, not drawn."""
    low, high = _scale(metric, cells)
    span = high - low or 1.0

    def x(v: float) -> float:
        return LABEL + (v - low) / span * WIDTH

    height = len(cells) * (BAR + GAP) + GAP
    parts = [
        f'<svg role="img" aria-label="{escape(metric.label)}" width="{LABEL + WIDTH + 70}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="12">',
        f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height}" stroke="#9aa7b4"/>',
    ]
    for i, c in enumerate(cells):
        y = GAP + i * (BAR + GAP)
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end">{escape(c.group[:28])}</text>'
        )
        if c.suppressed or c.value is None:
            note = "suppressed" if c.suppressed else "no data"
            parts.append(f'<text x="{LABEL + 4}" y="{y + 13}" fill="#8a96a3">{note}</text>')
            continue
        left, right = sorted((x(0), x(c.value)))
        parts.append(
            f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" '
            f'height="{BAR}" fill="#2d6a8e" rx="2"/>'
        )
        if c.low is not None and c.high is not None:
            mid = y + BAR / 2
            parts.append(
                f'<line x1="{x(c.low):.1f}" y1="{mid}" x2="{x(c.high):.1f}" y2="{mid}" '
                'stroke="#e3a21a" stroke-width="2"/>'
            )
        parts.append(
            f'<text x="{max(right, x(c.high or c.value)) + 5:.1f}" y="{y + 13}">'
            f"{_number(metric.kind, c.value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def table(metric: Metric, cells: list[Cell]) -> str:
    """n, and for rates and means the value and its interval (a count's value is n)."""
    counted = metric.kind is Kind.COUNT
    rows = []
    for c in cells:
        if c.suppressed:
            rows.append(
                f"<tr><td>{escape(c.group)}</td>"
                f'<td class="hidden" colspan="{1 if counted else 3}">'
                "suppressed (small group)</td></tr>"
            )
            continue
        value = (
            ""
            if counted
            else f"<td class='num'>{_number(metric.kind, c.value)}</td>"
            f"<td class='num'>{_interval(metric.kind, c)}</td>"
        )
        rows.append(f"<tr><td>{escape(c.group)}</td><td class='num'>{c.n}</td>{value}</tr>")
    head = f"<tr><th></th><th>n ({escape(metric.unit)})</th>"
    head += "</tr>" if counted else "<th>value</th><th>95% CI</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _metric(metric: Metric) -> str:
    parts = [f'<div class="metric"><h3>{escape(metric.label)}</h3>']
    if metric.held_since is not None:
        parts.append(
            f"<p>As shown on {metric.held_since:%d %b %Y %H:%M} UTC: fewer than "
            "the threshold of people's answers have changed since.</p>"
        )
    if metric.target is not None:
        verdict = {True: "reached", False: "not reached", None: "not known yet"}[metric.met]
        parts.append(
            f"<p>Target: {_number(metric.kind, metric.target)} · <strong>{verdict}</strong></p>"
        )
    parts.append(table(metric, [metric.total]))
    if metric.total.suppressed:
        return "".join([*parts, "</div>"])
    splits = [(s, cells) for s, cells in metric.splits.items() if cells]
    if splits:
        parts.append('<div class="split">')
        for split, cells in splits:
            parts.append(f"<div><strong>{escape(SPLIT_TITLES.get(split, split))}</strong>")
            parts.append(chart(metric, cells))
            parts.append(table(metric, cells))
            parts.append("</div>")
        parts.append("</div>")
    if metric.items:
        parts.append("<details><summary>per item</summary>")
        parts.append(chart(metric, metric.items))
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def glance(report: EvaluationReport) -> str:
    """Every metric split by pairing mode, one row each: the question the paper leaves
    open (assigned or self-identified pairs?) on one screen. Cells as already suppressed."""
    metrics = [m for s in report.sections for m in s.metrics if "mode" in m.splits]
    modes = sorted({c.group for m in metrics for c in m.splits["mode"]})

    def shown(m: Metric, c: Cell | None) -> str:
        if c is None:
            return "<td></td>"
        if c.suppressed:
            return '<td class="hidden">suppressed</td>'
        return (
            f"<td class='num'>{_number(m.kind, c.value if m.kind is not Kind.COUNT else c.n)}</td>"
        )

    rows = []
    for m in metrics:
        by_mode = {c.group: c for c in m.splits["mode"]}
        cells = "".join(shown(m, by_mode.get(mode)) for mode in modes)
        rows.append(f"<tr><td>{escape(m.label)}</td>{shown(m, m.total)}{cells}</tr>")
    head = "".join(f"<th>{escape(mode)}</th>" for mode in modes)
    return (
        "<h2>At a glance: by pairing mode</h2>"
        f"<table><tr><th></th><th>all</th>{head}</tr>{''.join(rows)}</table>"
    )


def render(report: EvaluationReport) -> str:
    body = [
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">Program evaluation · {escape(report.program_id)} · generated '
        f"{report.generated_at:%d %b %Y %H:%M} UTC · groups smaller than "
        f"{report.threshold} are suppressed</p>",
    ]
    body.append(glance(report))
    for section in report.sections:
        body.append(f"<h2>{escape(section.title)}</h2>")
        body.extend(_metric(m) for m in section.metrics)
    body.append('<h2>How to read this</h2><ul class="notes">')
    body.extend(f"<li>{escape(n)}</li>" for n in report.notes)
    body.append("</ul>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)} · evaluation</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
