"""The layer-by-layer viewer: one self-contained HTML page (all CSS and JS inline, nothing
fetched) built from a `Trace`. The page shows the program source with each statement linked
to the layer, head or MLP computing it, a layer stepper, per-head attention heatmaps (SVG,
token labels on both axes, a colour scale, the exact weight on hover), the decoded residual
stream per layer as a table (coordinates on hover) and the output. `rasp serve` adds an
input box that re-runs the model."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from .trace import Trace, token_labels

_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)")


def source_links(source: str, source_file: str | None, components: list[dict[str, Any]]) -> dict[int, list[list[Any]]]:
    """For each source line (from 1): [layer index in the trace, label] of every head or MLP
    computing a statement on it — by the block's source position, or by the name assigned."""
    here = Path(source_file).resolve() if source_file else None
    links: dict[int, list[list[Any]]] = {}
    lines = source.splitlines()
    for number, text in enumerate(lines, start=1):
        m = _ASSIGNED.match(text)
        names = {n.strip() for n in m.group(1).split(",")} if m else set()
        for c in components:
            if c.get("cleanup"):
                continue
            same_file = here is not None and c.get("file") and Path(c["file"]).resolve() == here
            if (same_file and c.get("line") == number) or c["sop"] in names:
                index = 2 * c["layer"] - (1 if c["kind"] == "attention" else 0)
                where = f"layer {c['layer']} " + (f"head {c['head']}" if c["kind"] == "attention" else "MLP")
                link = [index, where]
                if link not in links.setdefault(number, []):
                    links[number].append(link)
    return links


def render_page(
    trace: Trace | None,
    title: str,
    source: str | None = None,
    source_file: str | None = None,
    components: list[dict[str, Any]] | None = None,
    serve: dict[str, Any] | None = None,
    error: str | None = None,
) -> str:
    """The HTML page. `serve` (input text, words flag) adds the input box of `rasp serve`;
    `error` is shown in place of the trace (a bad input there)."""
    data = {
        "title": title,
        "trace": trace.to_dict(raw=True) if trace else None,
        "labels": token_labels(trace.input) if trace else [],
        "source": source.splitlines() if source else [],
        "links": source_links(source, source_file, components or []) if source else {},
        "serve": serve,
        "error": error,
    }
    # inside <script>, only markup characters could end the block: write them as JSON escapes
    payload = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return fill_template(_TEMPLATE, {"TITLE": html.escape(title), "DATA": payload})


_PLACEHOLDER = re.compile(r"@([A-Z]+)@")


def fill_template(template: str, values: dict[str, str]) -> str:
    """`template` with each @NAME@ replaced by values[NAME], in one pass over the template
    only: text that came from a user (a file named "@DATA@", a token) is never read as a
    placeholder. The values must already be escaped for where they go."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@TITLE@ · rasp viewer</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { background: #1d2b45; color: #fff; padding: 10px 18px; }
header h1 { font-size: 18px; margin: 0 0 4px; }
main { display: flex; gap: 18px; padding: 14px 18px; align-items: flex-start; }
#source-panel { flex: 0 0 34%; max-width: 520px; }
#view-panel { flex: 1; min-width: 0; }
.card { background: #fff; border: 1px solid #d8dde6; border-radius: 6px; padding: 10px 12px; margin-bottom: 12px; }
h2 { font-size: 15px; margin: 0 0 8px; }
pre#source { margin: 0; font: 12px/1.5 ui-monospace, monospace; overflow-x: auto; }
.src-line { white-space: pre-wrap; padding: 0 4px 0 3.5em; text-indent: -3.5em; }
.src-line .no { color: #9aa3b2; display: inline-block; width: 2.5em; text-align: right; margin-right: 8px; }
.src-line.active { background: #fff3bf; }
.src-link { font: 11px system-ui, sans-serif; background: #e3ecff; color: #1f4fbf; border-radius: 3px;
  padding: 0 4px; margin-left: 6px; cursor: pointer; text-decoration: none; }
.src-link:hover { background: #1f4fbf; color: #fff; }
#stepper { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
#stepper button { font-size: 13px; padding: 3px 8px; cursor: pointer; border: 1px solid #b8c2d3;
  background: #fff; border-radius: 4px; }
#stepper button.step-tab.current { background: #1f4fbf; color: #fff; border-color: #1f4fbf; }
#layer-name { font-weight: 600; min-width: 10em; }
.heads { display: flex; flex-wrap: wrap; gap: 14px; }
figure.head { margin: 0; }
figure.head figcaption { font-size: 12px; margin-bottom: 4px; }
table.resid { border-collapse: collapse; font: 12px ui-monospace, monospace; }
table.resid th, table.resid td { border: 1px solid #d8dde6; padding: 2px 6px; text-align: center; }
table.resid th.sop { text-align: left; background: #f0f3f8; }
table.resid tr.new th.sop { background: #fff3bf; }
td.mismatch { background: #ffd6d6; color: #a00; font-weight: 700; }
.tokens span, .out span { display: inline-block; border: 1px solid #b8c2d3; border-radius: 3px;
  padding: 0 5px; margin: 1px; background: #fff; color: #1d2330; font-family: ui-monospace, monospace; }
.banner { padding: 6px 10px; border-radius: 4px; margin-bottom: 10px; }
.banner.bad { background: #ffd6d6; color: #7a0000; }
.banner.good { background: #ddf5dd; color: #145214; }
form#run-form input[type=text] { width: 22em; font-size: 14px; padding: 3px; }
.note { color: #5b6475; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <div>input <span id="input-tokens" class="tokens"></span></div>
</header>
<main>
  <div id="source-panel">
    <div class="card" id="form-card" hidden>
      <form id="run-form" method="get" action="/">
        <label>input <input type="text" name="input" id="input-box"></label>
        <label><input type="checkbox" name="words" value="1" id="words-box"> words</label>
        <button type="submit">run</button>
      </form>
    </div>
    <div class="card"><h2>program</h2><pre id="source"></pre></div>
  </div>
  <div id="view-panel">
    <div id="error" class="banner bad" hidden></div>
    <div id="check" class="banner" hidden></div>
    <div class="card"><h2>output</h2><div id="output" class="out"></div></div>
    <div class="card"><div id="stepper"></div></div>
    <div id="layers"></div>
  </div>
</main>
<script type="application/json" id="trace-data">@DATA@</script>
<script>
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const CELL = 24;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function show(v) { return typeof v === "string" ? v : JSON.stringify(v); }
  // white (0) to dark blue (1)
  function colour(w) {
    const t = Math.max(0, Math.min(1, w));
    const r = Math.round(255 - t * (255 - 16)), g = Math.round(255 - t * (255 - 62)), b = Math.round(255 - t * (255 - 160));
    return "rgb(" + r + "," + g + "," + b + ")";
  }
  function short(s) { return s.length > 12 ? s.slice(0, 11) + "\\u2026" : s; }

  function heatmap(head, labels) {
    const n = labels.length;
    const margin = 8 + 7 * Math.max(...labels.map(l => short(l).length));
    const size = n * CELL;
    const root = svg("svg", { width: margin + size + 70, height: margin + size + 8, class: "heatmap",
      "data-head": head.head });
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const w = head.pattern[q][k];
        const rect = svg("rect", { x: margin + k * CELL, y: margin + q * CELL, width: CELL - 1, height: CELL - 1,
          fill: colour(w), class: "cell", "data-q": q, "data-k": k, "data-weight": w });
        rect.appendChild(svg("title", {}, "query " + labels[q] + " (" + q + ") \\u2192 key " + labels[k] + " (" + k + "): " + w));
        root.appendChild(rect);
      }
      const ql = svg("text", { x: margin - 4, y: margin + q * CELL + CELL / 2 + 4, "text-anchor": "end",
        "font-size": 11, class: "qlabel" }, short(labels[q]));
      ql.appendChild(svg("title", {}, labels[q]));
      root.appendChild(ql);
      const kx = margin + q * CELL + CELL / 2 + 4, ky = margin - 4;
      const kl = svg("text", { x: kx, y: ky, "text-anchor": "start", "font-size": 11, class: "klabel",
        transform: "rotate(-90 " + kx + " " + ky + ")" }, short(labels[q]));
      kl.appendChild(svg("title", {}, labels[q]));
      root.appendChild(kl);
    }
    // colour scale
    const sx = margin + size + 14, grad = "g" + Math.random().toString(36).slice(2);
    const defs = svg("defs");
    const lg = svg("linearGradient", { id: grad, x1: 0, y1: 1, x2: 0, y2: 0 });
    lg.appendChild(svg("stop", { offset: "0", "stop-color": colour(0) }));
    lg.appendChild(svg("stop", { offset: "1", "stop-color": colour(1) }));
    defs.appendChild(lg);
    root.appendChild(defs);
    const scale = svg("g", { class: "colour-scale" });
    scale.appendChild(svg("rect", { x: sx, y: margin, width: 12, height: size, fill: "url(#" + grad + ")", stroke: "#b8c2d3" }));
    for (const t of [0, 0.5, 1]) {
      scale.appendChild(svg("text", { x: sx + 16, y: margin + (1 - t) * size + 4, "font-size": 10 }, String(t)));
    }
    root.appendChild(scale);
    return root;
  }

  function residualTable(layer, n) {
    const names = Object.keys(layer.values);
    if (!names.length) {
      return el("p", { class: "note" }, "no decodable residual stream (a trained model): attention and output only");
    }
    const bad = {};
    for (const m of layer.mismatches) bad[m.sop + "@" + m.position] = m;
    const table = el("table", { class: "resid" });
    const head = el("tr");
    head.appendChild(el("th", {}, "s-op"));
    for (let p = 0; p < n; p++) head.appendChild(el("th", { class: "pos" }, data.labels[p + 1]));
    table.appendChild(head);
    for (const name of names) {
      const row = el("tr", { "data-sop": name, class: layer.computes.includes(name) ? "new" : "" });
      row.appendChild(el("th", { class: "sop" }, name));
      layer.values[name].forEach((v, p) => {
        const raw = layer.raw && layer.raw[name] ? layer.raw[name][p] : [];
        const m = bad[name + "@" + p];
        const cell = el("td", { class: m ? "value mismatch" : "value", "data-pos": p,
          title: "residual coordinates: [" + raw.join(", ") + "]" + (m ? "; interpreter: " + show(m.interpreter) : "") },
          show(v));
        row.appendChild(cell);
      });
      table.appendChild(row);
    }
    return table;
  }

  function render() {
    document.getElementById("title").textContent = data.title;
    if (data.serve) {
      document.getElementById("form-card").hidden = false;
      document.getElementById("input-box").value = data.serve.input || "";
      document.getElementById("words-box").checked = !!data.serve.words;
    }
    const source = document.getElementById("source");
    data.source.forEach((text, i) => {
      const line = el("div", { class: "src-line", "data-line": i + 1 });
      line.appendChild(el("span", { class: "no" }, String(i + 1)));
      line.appendChild(document.createTextNode(text));
      for (const [index, where] of (data.links[i + 1] || [])) {
        const a = el("a", { class: "src-link", "data-layer": index, href: "#layer-" + index }, where);
        a.addEventListener("click", ev => { ev.preventDefault(); go(index); });
        line.appendChild(a);
      }
      source.appendChild(line);
    });
    if (data.error) {
      const box = document.getElementById("error");
      box.hidden = false;
      box.textContent = data.error;
    }
    const tr = data.trace;
    if (!tr) return;
    const toks = document.getElementById("input-tokens");
    tr.input.forEach(t => toks.appendChild(el("span", {}, show(t))));
    const out = document.getElementById("output");
    tr.output.forEach((v, p) => out.appendChild(el("span", { class: "out-value", "data-pos": p }, show(v))));
    const bad = tr.layers.reduce((s, l) => s + l.mismatches.length, 0);
    const check = document.getElementById("check");
    if (tr.expected) {
      const same = JSON.stringify(tr.expected) === JSON.stringify(tr.output);
      check.hidden = false;
      check.className = "banner " + (same && !bad ? "good" : "bad");
      check.textContent = same && !bad ? "every decoded value agrees with the interpreter"
        : bad + " decoded value(s) differ from the interpreter; interpreter output: " + tr.expected.map(show).join(" ");
    }
    const stepper = document.getElementById("stepper");
    const prev = el("button", { id: "prev", type: "button" }, "\\u25c0 prev");
    const next = el("button", { id: "next", type: "button" }, "next \\u25b6");
    stepper.append(prev, el("span", { id: "layer-name" }), next);
    const n = tr.input.length;
    const layers = document.getElementById("layers");
    tr.layers.forEach((layer, i) => {
      const tab = el("button", { class: "step-tab", type: "button", "data-layer": i }, layer.name);
      tab.addEventListener("click", () => go(i));
      stepper.appendChild(tab);
      const sec = el("section", { class: "layer card", id: "layer-" + i, "data-layer": i, "data-name": layer.name });
      sec.appendChild(el("h2", {}, layer.name + (layer.computes.length ? ": computes " + layer.computes.join(", ") : "")));
      if (layer.attention.length) {
        const heads = el("div", { class: "heads" });
        for (const h of layer.attention) {
          const fig = el("figure", { class: "head", "data-head": h.head, "data-sop": h.sop || "" });
          const what = h.sop ? h.sop + " = " + (h.op || "") + (h.selector ? "(" + h.selector + ")" : "") : "";
          fig.appendChild(el("figcaption", {}, "head " + h.head + (what ? ": " + what : "")));
          fig.appendChild(heatmap(h, data.labels));
          heads.appendChild(fig);
        }
        sec.appendChild(heads);
      }
      sec.appendChild(residualTable(layer, n));
      layers.appendChild(sec);
    });
    let current = 0;
    function go(i) {
      current = Math.max(0, Math.min(tr.layers.length - 1, i));
      document.querySelectorAll("section.layer").forEach(s => { s.hidden = Number(s.dataset.layer) !== current; });
      document.querySelectorAll(".step-tab").forEach(b => b.classList.toggle("current", Number(b.dataset.layer) === current));
      document.getElementById("layer-name").textContent = tr.layers[current].name;
      document.querySelectorAll(".src-line").forEach(line => {
        const hits = (data.links[line.dataset.line] || []).some(([index]) => index === current);
        line.classList.toggle("active", hits);
      });
      document.body.dataset.layer = current;
    }
    window.go = go;
    prev.addEventListener("click", () => go(current - 1));
    next.addEventListener("click", () => go(current + 1));
    document.addEventListener("keydown", ev => {
      if (ev.target.tagName === "INPUT") return;
      if (ev.key === "ArrowRight") go(current + 1);
      if (ev.key === "ArrowLeft") go(current - 1);
    });
    go(Math.min(1, tr.layers.length - 1));
  }
  render();
  document.body.dataset.rendered = "yes";
})();
</script>
</body>
</html>
"""
