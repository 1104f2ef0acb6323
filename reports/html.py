"""The report as one HTML file that works offline: verdict banner, requirement matrix with
filters, each failure with its evidence, and a timeline per transaction in virtual time (SVG)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

__all__ = ["render_html", "transactions"]

_LANES = ("CJIS", "IDENT", "LESC", "DRO", "SIB", "LEA")
_COLORS = {
    "passed": "#1b7f3b",
    "failed": "#b3261e",
    "error": "#b36b00",
    "not-applicable": "#6b6b6b",
}
_MAX_TIMELINES = 12

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.banner{padding:22px 20px;color:#fff}.banner h1{margin:0 0 4px;font-size:26px}
.conformant{background:#1b7f3b}.not-conformant{background:#b3261e}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 20px}
th,td{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.status{font-weight:600;white-space:nowrap}
.filters button{margin:0 6px 8px 0;padding:4px 10px;border:1px solid #888;background:#fff;
border-radius:4px;cursor:pointer}.filters button.on{background:#1d1d1f;color:#fff}
pre{white-space:pre-wrap;background:#f6f6f6;padding:8px;border:1px solid #e3e3e3;font-size:12px}
.meta{color:#555}.timeline{background:#fff;border:1px solid #ddd;margin:8px 0 16px}
h2{margin-top:28px}small{color:#666}
"""

_SCRIPT = """
for (const b of document.querySelectorAll('.filters button')) {
  b.addEventListener('click', () => {
    for (const o of document.querySelectorAll('.filters button')) o.classList.remove('on');
    b.classList.add('on');
    for (const row of document.querySelectorAll('#matrix tbody tr'))
      row.style.display =
        (b.dataset.show === 'all' || row.dataset.status === b.dataset.show) ? '' : 'none';
  });
}
"""


def _lane(entry: dict[str, Any]) -> str:
    channel = entry["channel"]
    if channel.startswith("lea:"):
        return "LEA"
    return {
        "cjis": "CJIS",
        "cjis-fault": "CJIS",
        "ident": "IDENT",
        "lesc": "LESC",
        "dro": "DRO",
    }.get(channel, "SIB")


def transactions(report: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(check, submission TCN, its entries in time order) for the timelines, failures first."""
    ordered = sorted(report["checks"], key=lambda c: (c["outcome"] == "passed", c["name"]))
    found: list[tuple[str, str, list[dict[str, Any]]]] = []
    for check in ordered:
        by_tcn: dict[str, list[dict[str, Any]]] = {}
        for entry in check["evidence"]:
            if entry["channel"] == "cjis":
                by_tcn.setdefault(str(entry["tcn"]), [])
        for entry in check["evidence"]:
            about = entry["tcn"] if entry["channel"] in ("cjis", "cjis-fault") else entry["tcr"]
            if about in by_tcn:
                by_tcn[about].append(entry)
        for tcn in list(by_tcn)[:2]:
            entries = sorted(by_tcn[tcn], key=lambda e: e["virtual_time"])
            found.append((check["name"], tcn, entries))
    return found[:_MAX_TIMELINES]


def _svg(entries: list[dict[str, Any]]) -> str:
    start = datetime.fromisoformat(entries[0]["virtual_time"])
    offsets = [(datetime.fromisoformat(e["virtual_time"]) - start).total_seconds() for e in entries]
    span = max(max(offsets), 60.0)
    width, left, lane_h = 980, 70, 26
    height = lane_h * len(_LANES) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height}" role="img" aria-label="transaction timeline">'
    ]
    for i, lane in enumerate(_LANES):
        y = 20 + i * lane_h
        parts.append(f'<text x="6" y="{y + 4}" font-size="11">{lane}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#e4e4e4"/>')
    for hours in (0.25, 4, 24):
        if hours * 3600 <= span * 1.05:
            x = left + (hours * 3600 / span) * (width - left - 30)
            parts.append(
                f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{height - 22}" stroke="#c9c9ff" '
                f'stroke-dasharray="3,3"/><text x="{x + 2:.1f}" y="{height - 8}" font-size="10" '
                f'fill="#55f">{hours:g} h</text>'
            )
    for entry, offset in zip(entries, offsets, strict=True):
        x = left + (offset / span) * (width - left - 30)
        y = 20 + _LANES.index(_lane(entry)) * lane_h
        label = escape(f"{entry['tot'] or '?'} +{offset / 3600:.2f} h ({entry['channel']})")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="#1d1d1f"><title>{label}</title></circle>'
            f'<text x="{x + 7:.1f}" y="{y - 6}" font-size="10">{escape(str(entry["tot"]))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one self-contained HTML page (same JSON in, same bytes out)."""
    verdict = report["verdict"]
    totals = report["totals"]
    profile = report["sut"]["profile"]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Conformance report {escape(report['run_id'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<header class='banner {verdict}' id='verdict'><h1>"
        f"{'CONFORMANT' if verdict == 'conformant' else 'NOT CONFORMANT'}</h1>",
        f"<div>SIB {escape(report['sut']['name'])} · {escape(profile['state'])} · "
        f"{'NFF' if profile['nff'] else 'not NFF'} · routing "
        f"{'on' if profile['message_routing'] else 'off'} · {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['error']} errors, "
        f"{totals['not-applicable']} not applicable</div></header><main>",
        f"<p class='meta'>Run {escape(report['run_id'])} · harness "
        f"{escape(report['harness_version'])} · schemas {escape(report['schemas_digest'][:16])}… · "
        f"clock {escape(report['clock']['mode'])} (scale {report['clock']['scale']:g}) · wall "
        f"{escape(report['started']['wall'])} → {escape(report['finished']['wall'])} · virtual "
        f"{escape(report['started']['virtual'])} → {escape(report['finished']['virtual'])}</p>",
        "<h2>Requirements</h2><div class='filters'>",
    ]
    for show in ("all", "passed", "failed", "not-applicable"):
        on = " class='on'" if show == "all" else ""
        out.append(f"<button data-show='{show}'{on}>{show}</button>")
    out.append(
        "</div><table id='matrix'><thead><tr><th>ID</th><th>Level</th><th>Status</th>"
        "<th>Rule</th><th>Sources</th><th>Checks</th></tr></thead><tbody>"
    )
    for r in report["requirements"]:
        out.append(
            f"<tr data-status='{r['status']}'><td>{r['id']}</td><td>{r['level']}</td>"
            f"<td class='status' style='color:{_COLORS[r['status']]}'>{r['status']}</td>"
            f"<td>{escape(r['rule'])}</td><td><small>{escape('; '.join(r['sources']))}</small></td>"
            f"<td><small>{escape(', '.join(r['checks']))}</small></td></tr>"
        )
    out.append("</tbody></table>")
    failures = [c for c in report["checks"] if c["outcome"] in ("failed", "error")]
    out.append(f"<h2>Failures ({len(failures)})</h2>")
    for check in failures:
        out.append(
            f"<h3>{escape(check['requirement'])} · {escape(check['name'])}</h3>"
            f"<pre>{escape(check['message'][-1500:])}</pre><table><thead><tr><th>virtual time"
            "</th><th>channel</th><th>dir</th><th>TOT</th><th>TCN</th><th>TCR</th><th>ORI</th>"
            "</tr></thead><tbody>"
        )
        for e in check["evidence"][:40]:
            out.append(
                "<tr>"
                + "".join(
                    f"<td>{escape(str(e[k] or ''))}</td>"
                    for k in ("virtual_time", "channel", "direction", "tot", "tcn", "tcr", "ori")
                )
                + "</tr>"
            )
        out.append("</tbody></table>")
    out.append("<h2>Timelines</h2><p class='meta'>Each transaction from the CAR or CPI on, drawn "
               "to virtual time: CJIS, IDENT, LESC, DRO, what CJIS delivered to the SIB, and what "
               "the SIB routed to the LEA.</p>")  # fmt: skip
    for name, tcn, entries in transactions(report):
        out.append(f"<h3><small>{escape(name)}</small> · {escape(tcn)}</h3>{_svg(entries)}")
    signature = report.get("signature")
    if signature:
        kind = "a throwaway key" if signature["throwaway"] else "the configured key"
        out.append(
            f"<p class='meta'>Signed with Ed25519 ({kind}), public key "
            f"{escape(signature['public_key'])}. "
            "Check it with <code>interop report verify</code>.</p>"
        )
    out.append(f"</main><script>{_SCRIPT}</script></body></html>\n")
    return "".join(out)
