"""The diff as one self-contained HTML page (no outside assets): the summary by cause, a table per question
that sorts (click a column header) and filters (the box above it), and a picture of the network with each BGP
session and OSPF adjacency coloured by the state the routers hold."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from realfish.diff.orders import in_some_orders, outcome_text
from realfish.diff.report import causes
from realfish.diff.rows import cell_text
from realfish.diff.text import KIND
from realfish.explore import seeds_text

STYLE = """
body{font:14px sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#eee;cursor:pointer;user-select:none}th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}
.unexplained{color:#b00;font-weight:bold}.evidence{color:#555;font-size:.9em}
svg text{font-size:11px}.legend span{display:inline-block;margin-right:1.2em}
"""

SCRIPT = """
// digit runs compare as numbers (addresses, metrics), the rest as text
function natural(x, y) {
  var a = x.split(/(\\d+)/), b = y.split(/(\\d+)/);
  for (var i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (i % 2) return parseInt(a[i], 10) - parseInt(b[i], 10);
    return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}
document.querySelectorAll('table.diff').forEach(function (table) {
  var body = table.tBodies[0];
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(asc ? 'asc' : 'desc');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var c = natural(a.cells[col].textContent, b.cells[col].textContent);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var box = document.getElementById(table.id + '-filter');
  box.addEventListener('input', function () {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    Array.prototype.forEach.call(body.rows, function (r) {
      var text = r.textContent.toLowerCase();
      r.style.display = words.every(function (w) { return text.indexOf(w) >= 0; }) ? '' : 'none';
    });
  });
});
"""

UP, DOWN = "#1a9850", "#d73027"


def render(doc: dict[str, Any]) -> str:
    title = f"realfish diff: {doc['snapshot']}"
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
           # nothing may be fetched: no outside asset, and the page forbids it outright
           "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline'\">",
           f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{escape(title)}</h1>", f"<p>against {escape(doc['against'])}: {doc['differences']} differences, "
           f"{doc['unexplained']} unexplained</p>", "<ul>"]
    for q in doc["questions"]:
        out.append(f"<li>{escape(q['question'])}: {q['matched']} of Batfish's {q['batfish_rows']} rows matched "
                   f"(realfish {q['realfish_rows']}), {len(q['differences'])} differences</li>")
    out.append("</ul><h2>By cause</h2><table id='causes'><tr><th>rows</th><th>cause</th><th>evidence</th></tr>")
    orders = (doc.get("explore") or {}).get("orders", 1)
    for g in causes(doc):
        cause = escape(g["cause"]) if g["cause"] else "<span class='unexplained'>UNEXPLAINED</span>"
        some = sum(1 for _, d in g["rows"] if in_some_orders(d, orders))
        rows = f"{len(g['rows'])}" + (f" ({some} in some orders only)" if some else "")
        out.append(f"<tr><td>{rows}</td><td>{cause}</td><td class='evidence'>{escape(g['evidence'])}</td></tr>")
    out.append("</table>")
    out += explored(doc)
    out += picture(doc.get("topology") or {})
    for n, q in enumerate(doc["questions"]):
        out += question_table(f"q{n}", q, orders)
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"


def explored(doc: dict[str, Any]) -> list[str]:
    """The orders of events explored, and realfish's rows that differ between them with their outcomes."""
    ex = doc.get("explore")
    if not ex:
        return []
    out = ["<h2>Orders of events</h2>",
           f"<p id='explore'>explored {ex['orders']} orders (seeds {escape(seeds_text(ex['seeds']))}): "
           f"{ex['varying']} rows of realfish's answers differ between them; {ex['in_some_orders']} differences "
           "are in some orders only</p>"]
    rows = [(q["question"], v) for q in doc["questions"] for v in q.get("varying", [])]
    if rows:
        out.append("<table id='varying'><tr><th>question</th><th>row</th><th>outcomes</th></tr>")
        out += [f"<tr><td>{escape(name)}</td><td>{escape(v['key'])}</td><td>"
                + "<br>".join(escape(outcome_text(o)) for o in v["outcomes"]) + "</td></tr>" for name, v in rows]
        out.append("</table>")
    return out


def question_table(tid: str, q: dict[str, Any], orders: int = 1) -> list[str]:
    out = [f"<h2>{escape(q['question'])}</h2>",
           f"<input id='{tid}-filter' type='search' placeholder='filter rows' size='40'>",
           f"<table class='diff' id='{tid}'><thead><tr><th>difference</th>"
           + "".join(f"<th>{escape(k)}</th>" for k in q["keys"])
           + "<th>Batfish</th><th>realfish</th><th>cause</th></tr></thead><tbody>"]
    for d in q["differences"]:
        cols = d["columns"] or q["values"]
        sides = ["; ".join(f"{c} {cell_text(d[s].get(c))}" for c in cols) if d[s] is not None else "-"
                 for s in ("batfish", "realfish")]
        e = d["explanation"]
        cause = escape(e["cause"]) if e else "<span class='unexplained'>UNEXPLAINED</span>"
        some = in_some_orders(d, orders)
        kind = KIND[d["kind"]] + (f" <span class='orders'>({escape(some)})</span>" if some else "")
        out.append(f"<tr><td>{kind}</td>" + "".join(f"<td>{escape(v)}</td>" for v in d["key"].values())
                   + "".join(f"<td>{escape(s)}</td>" for s in sides) + f"<td>{cause}</td></tr>")
    out.append("</tbody></table>")
    return out


def picture(topo: dict[str, Any]) -> list[str]:
    """Nodes on a circle; grey lines are layer-3 links, solid coloured lines OSPF adjacencies, dashed curves
    BGP sessions (green: Full/Established, red: any other state, with the state in its tooltip)."""
    nodes = list(topo.get("nodes") or [])
    if not nodes:
        return []
    size, r = 720, 280
    pos = {n: (size / 2 + r * math.cos(2 * math.pi * i / len(nodes) - math.pi / 2),
               size / 2 + r * math.sin(2 * math.pi * i / len(nodes) - math.pi / 2)) for i, n in enumerate(nodes)}
    out = ["<h2>Network</h2>",
           f"<p class='legend'><span style='color:{UP}'>&#9632; Full / Established</span>"
           f"<span style='color:{DOWN}'>&#9632; not Full / not Established</span><span>solid: OSPF adjacency"
           "</span><span>dashed: BGP session</span><span style='color:#bbb'>grey: layer-3 link</span></p>",
           f"<svg id='topology' xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' "
           f"viewBox='0 0 {size} {size}'>"]
    for a, b in topo.get("links") or []:
        if a in pos and b in pos:
            out.append(f"<line class='link' x1='{pos[a][0]:.0f}' y1='{pos[a][1]:.0f}' x2='{pos[b][0]:.0f}' "
                       f"y2='{pos[b][1]:.0f}' stroke='#ddd' stroke-width='6'/>")
    for kind, up in (("ospf", "Full"), ("bgp", "Established")):
        for s in topo.get(kind) or []:
            a, b = s["a"], s["b"]
            if a not in pos or b not in pos:
                continue
            colour = UP if s["state"] == up else DOWN
            tip = escape(f"{kind.upper()} {a} - {b}: {s['state']} ({'; '.join(s['detail'])})")
            attrs = (f"class='{kind}' data-a='{escape(a)}' data-b='{escape(b)}' data-state='{escape(s['state'])}' "
                     f"stroke='{colour}' fill='none' stroke-width='2'")
            (x1, y1), (x2, y2) = pos[a], pos[b]
            if kind == "ospf":
                out.append(f"<line {attrs} x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}'>"
                           f"<title>{tip}</title></line>")
            else:  # bowed toward the centre so it does not hide the adjacency on the same pair
                cx, cy = (x1 + x2) / 2 * 0.8 + size / 2 * 0.2, (y1 + y2) / 2 * 0.8 + size / 2 * 0.2
                out.append(f"<path {attrs} stroke-dasharray='6 4' d='M{x1:.0f},{y1:.0f} Q{cx:.0f},{cy:.0f} "
                           f"{x2:.0f},{y2:.0f}'><title>{tip}</title></path>")
    for n, (x, y) in pos.items():
        out.append(f"<g class='node' data-node='{escape(n)}'><circle cx='{x:.0f}' cy='{y:.0f}' r='7' fill='#335'/>"
                   f"<text x='{x + 10:.0f}' y='{y - 8:.0f}'>{escape(n)}</text></g>")
    out.append("</svg>")
    return out
