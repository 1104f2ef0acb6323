"""The report as one HTML file that works offline, for the person who signs it: a red warning first
when the signature does not verify, then the verdict and the failed requirements, the run's facts
(signature, run id, clock, budgets, seed, wall and virtual time; why it stopped, if it did), each
failure in domain words with the evidence that shows it, the requirement matrix, and every
transaction's timeline in virtual time (SVG), the events that broke the rule marked. Everything
from the report is HTML-escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from .signing import signature_problem
from .timeline import timeline_svg, transactions

__all__ = ["render_html"]

_COLORS = {
    "passed": "#1b7f3b",
    "failed": "#b3261e",
    "error": "#b36b00",
    "not-applicable": "#6b6b6b",
    "not-run": "#6b6b6b",
}
_TITLES = {
    "conformant": "CONFORMANT",
    "conformant-with-findings": "CONFORMANT WITH FINDINGS",
    "not-conformant": "NOT CONFORMANT",
    "incomplete": "INCOMPLETE",
    "error": "ERROR: NOT TESTED",
}
_DOCUMENTS = (
    "SOP: Secure Communities Standard Operating Procedures for participating LEAs; "
    "MOA: the Memorandum of Agreement between ICE and a SIB (with the Strategic Plan, July 2009); "
    "Briefing: DRO field office and SIB deployment briefings (2009); "
    "Guidance: guidance for sensitive jurisdictions; Talking points: January 2010."
)
_OPEN = 3
_EVIDENCE_KEYS = ("virtual_time", "channel", "direction", "tot", "tcn", "tcr", "ori")

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.banner{padding:22px 20px;color:#fff}.banner h1{margin:0 0 6px;font-size:26px}
.banner ul{margin:8px 0 0;padding-left:20px}.banner li{margin:2px 0}
.conformant{background:#1b7f3b}.conformant-with-findings{background:#5f7f1b}
.not-conformant{background:#b3261e}.incomplete{background:#8a5a00}.error{background:#5a5a5a}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 20px}
th,td{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.status{font-weight:600;white-space:nowrap}.id{white-space:nowrap}
tr.defect td{background:#fde7e5;font-weight:600}
.filters button{margin:0 6px 8px 0;padding:4px 10px;border:1px solid #888;background:#fff;
border-radius:4px;cursor:pointer}.filters button.on{background:#1d1d1f;color:#fff}
.reason{font-size:15px;background:#fff;border-left:4px solid #b3261e;padding:8px 12px}
.reason.error{border-color:#b36b00}
.meta{color:#555}.timeline{background:#fff;border:1px solid #ddd;margin:6px 0 14px}
h2{margin-top:28px}small{color:#666}summary{cursor:pointer;margin:6px 0}
.unverified{background:#d00000;color:#fff;padding:16px 20px;font-size:18px;font-weight:700}
.facts{background:#fff;border:1px solid #ddd;margin:16px 0;padding:4px 12px}
.facts table{margin:6px 0;width:auto}.facts th,.facts td{border:0;padding:2px 12px 2px 0;
background:none}.notice{border-left:4px solid #8a5a00;padding:6px 10px;background:#fff6e0}
.timeline .event{fill:#8c8c8c}.timeline .event.defect{fill:#b3261e;stroke:#000;stroke-width:1}
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


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _banner(report: dict[str, Any]) -> str:
    verdict = report["verdict"]
    totals = report["totals"]
    profile = report["sut"]["profile"]
    bad = [r for r in report["requirements"] if r["status"] in ("failed", "error")]
    bad.sort(key=lambda r: (r["status"] != "failed", r["level"] != "MUST", r["id"]))
    items = "".join(
        f"<li><b>{_e(r['id'])}</b> ({_e(r['level'])}) {_e(r['status'])}: {_e(r['rule'])}</li>"
        for r in bad
    )
    return (
        f"<header class='banner {_e(verdict)}' id='verdict'><h1>{_TITLES[verdict]}</h1>"
        f"<div>SIB {_e(report['sut']['name'])} · {_e(profile['state'])} · "
        f"{'NFF' if profile['nff'] else 'not NFF'} · routing "
        f"{'on' if profile['message_routing'] else 'off'} · {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['error']} could not be carried out, "
        f"{totals['not-applicable']} not applicable, {totals['not-run']} not run · "
        f"{'complete run' if report['complete'] else 'partial run'} · exit code "
        f"{report['exit_code']}</div>"
        + (f"<ul id='failed'>{items}</ul>" if items else "")
        + "</header>"
    )


def _failure(check: dict[str, Any], level: str) -> str:
    highlight = set(check["highlight"])
    rows = []
    for e in check["evidence"]:
        mark = " class='defect'" if e["id"] in highlight else ""
        cells = "".join(f"<td>{_e(e[k] if e[k] is not None else '')}</td>" for k in _EVIDENCE_KEYS)
        rows.append(f"<tr{mark}>{cells}</tr>")
    what = "failed" if check["outcome"] == "failed" else "could not be carried out"
    table = (
        "<table class='evidence'><thead><tr><th>virtual time</th><th>channel</th><th>dir</th>"
        "<th>TOT</th><th>TCN</th><th>TCR</th><th>ORI</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else "<p class='meta'>No ledger entries.</p>"
    )
    return (
        f"<section class='failure' data-outcome='{_e(check['outcome'])}'>"
        f"<h3>{_e(check['requirement'])} ({_e(level)}) {what} · <small>{_e(check['name'])}"
        f"</small></h3><p class='reason {_e(check['outcome'])}'>{_e(check['message'])}</p>"
        f"{table}</section>"
    )


def _matrix(report: dict[str, Any]) -> list[str]:
    out = ["<h2>Requirements</h2><div class='filters'>"]
    for show in ("all", "passed", "failed", "error", "not-applicable", "not-run"):
        on = " class='on'" if show == "all" else ""
        out.append(f"<button data-show='{show}'{on}>{show}</button>")
    out.append(
        "</div><table id='matrix'><thead><tr><th>ID</th><th>Level</th><th>Status</th>"
        "<th>Rule</th><th>Sources</th><th>Checks</th></tr></thead><tbody>"
    )
    for r in report["requirements"]:
        out.append(
            f"<tr data-status='{_e(r['status'])}'><td class='id'>{_e(r['id'])}</td>"
            f"<td>{_e(r['level'])}</td>"
            f"<td class='status' style='color:{_COLORS[r['status']]}'>{_e(r['status'])}</td>"
            f"<td>{_e(r['rule'])}</td><td><small>{_e('; '.join(r['sources']))}</small></td>"
            f"<td><small>{_e(', '.join(r['checks']))}</small></td></tr>"
        )
    out.append(f"</tbody></table><p class='meta'><small>{_e(_DOCUMENTS)}</small></p>")
    return out


def _timelines(report: dict[str, Any]) -> list[str]:
    out = [
        "<h2 id='timelines'>Timelines</h2><p class='meta'>Every transaction from the CAR or "
        "CPI on, drawn to virtual time (1 min, 15 min, 4 h and 24 h marked): CJIS, IDENT, "
        "LESC, DRO, what CJIS delivered to the SIB, and what the SIB routed to the LEA. "
        "The events that broke the rule are red and outlined; the others grey.</p>"
    ]
    for check, found in transactions(report):
        color = _COLORS[check["outcome"]]
        out.append(
            f"<h3 style='color:{color}'>{_e(check['requirement'])} · <small>"
            f"{_e(check['name'])}</small> · {_e(check['outcome'])} · {len(found)} "
            f"transaction{'s' if len(found) != 1 else ''}</h3>"
        )
        defects = set(check["highlight"]) if check["outcome"] == "failed" else set()
        for n, (tcn, entries) in enumerate(found):
            if n == _OPEN:
                out.append(f"<details><summary>{len(found) - _OPEN} more transactions</summary>")
            out.append(f"<div><small>{_e(tcn)}</small>{timeline_svg(entries, defects)}</div>")
        if len(found) > _OPEN:
            out.append("</details>")
    return out


def _unverified(problem: str) -> str:
    return (
        "<div class='unverified' id='unverified' role='alert'>SIGNATURE DOES NOT VERIFY: "
        f"{_e(problem)}. Nothing on this page can be relied on; "
        "<code>interop report verify</code> says more.</div>"
    )


def _facts(report: dict[str, Any], problem: str | None) -> str:
    """The run's facts, before any failure or timeline: its signature (a throwaway key said
    plainly), why it stopped, run id, harness, clock, budgets and seed, wall and virtual time."""
    notices = []
    signature = report.get("signature")
    if problem is not None:
        signed = f"does not verify: {problem}"
    else:
        assert signature is not None
        kind = "a throwaway key" if signature["throwaway"] else "the configured key"
        signed = f"Ed25519, {kind}, public key {signature['public_key']}"
        if signature["throwaway"]:
            notices.append(
                "Signed with a throwaway key made for this run: the signature shows the report "
                "was not changed since, not who made it. Sign with your own key "
                "(--signing-key) for certification."
            )
    if "stopped" in report:
        notices.append(
            f"The run was stopped before its end: {report['stopped']['reason']}. The checks "
            "that finished keep their outcome; the others were not run."
        )
    clock = report["clock"]
    rows = (
        ("signature", signed),
        ("run", report["run_id"]),
        ("harness", f"{report['harness_version']} · schemas {report['schemas_digest'][:16]}…"),
        ("clock", f"{clock['mode']} (scale {clock['scale']:g})"),
        ("budgets", _budgets(report)),
        ("wall time", f"{report['started']['wall']} → {report['finished']['wall']}"),
        ("virtual time", f"{report['started']['virtual']} → {report['finished']['virtual']}"),
    )
    return (
        "<section class='facts' id='facts'>"
        + "".join(f"<p class='notice'>{_e(n)}</p>" for n in notices)
        + "<table>"
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        + "</table></section>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one self-contained HTML page (same JSON in, same bytes out)."""
    level = {r["id"]: r["level"] for r in report["requirements"]}
    failures = [c for c in report["checks"] if c["outcome"] in ("failed", "error")]
    failures.sort(key=lambda c: (c["outcome"] != "failed", level.get(c["requirement"]) != "MUST"))
    problem = signature_problem(report)
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Conformance report {_e(report['run_id'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        _unverified(problem) if problem is not None else "",
        _banner(report),
        "<main>",
        _facts(report, problem),
    ]
    if failures:
        out.append(f"<h2>Failures ({len(failures)})</h2>")
        out += [_failure(c, level.get(c["requirement"], "?")) for c in failures]
    out += _matrix(report)
    out += _timelines(report)
    out.append(
        "<p class='meta'>Check the signature with <code>interop report verify</code>.</p>"
        f"</main><script>{_SCRIPT}</script></body></html>\n"
    )
    return "".join(out)


def _budgets(report: dict[str, Any]) -> str:
    """The run's time budgets and data seed, as the meta line says them."""
    budgets = report.get("budgets")
    if not budgets:
        return "time budgets as the catalog gives them"
    order = ", random order" if budgets["random_order"] else ""
    return (
        f"time budgets x{budgets['factor']:g} of the catalog's · run seed "
        f"{budgets['run_seed']}{order}"
    )
