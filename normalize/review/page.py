"""The review app's page: one HTML document, its style sheet and its script.

The page asks the server for /api/state and builds everything from it with DOM calls and
``textContent``: no document text ever goes through ``innerHTML`` or an HTML string, so
whatever a scraped article contains is shown as text. Nothing is loaded from elsewhere (the
server's Content-Security-Policy forbids it).
"""

from __future__ import annotations

import html

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="review-token" content="{token}">
<title>normalize review: {name}</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header class="top">
  <div>
    <h1>Review <span class="muted">{name}</span></h1>
    <p class="sub" id="summary">Loading…</p>
  </div>
  <div class="who">
    <label>Reviewer <input id="reviewer" autocomplete="off" maxlength="80" spellcheck="false"></label>
    <button type="button" id="help-btn" title="Keyboard shortcuts (?)">?</button>
  </div>
</header>
<div class="toolbar" role="search">
  <label>Reason <select id="f-reason"><option value="">all</option></select></label>
  <label>Document <select id="f-doc"><option value="">all</option></select></label>
  <label>Confidence ≤ <input id="f-conf" type="range" min="0" max="1" step="0.05" value="1">
    <output id="f-conf-out">1.00</output></label>
  <label>Status <select id="f-status"><option value="">all</option><option value="open">undecided</option>
    <option value="decided">decided</option><option value="conflict">conflicts</option></select></label>
  <span class="count" id="f-count"></span>
</div>
<main id="flags" aria-live="polite"></main>
<p class="empty" id="no-match" hidden>No flags match these filters.</p>
<div id="status" role="status" aria-live="polite"></div>
<div id="help" role="dialog" aria-modal="true" aria-labelledby="help-h" hidden>
  <div class="help-box">
    <h2 id="help-h">Keyboard shortcuts</h2>
    <table>
      <tr><th>j / k</th><td>next / previous flag</td></tr>
      <tr><th>n</th><td>next undecided flag</td></tr>
      <tr><th>a</th><td>accept the suggestion (1–9: the n-th suggestion)</td></tr>
      <tr><th>e</th><td>edit: type a correction (Ctrl+Enter saves, Esc cancels)</td></tr>
      <tr><th>f</th><td>false alarm: nothing is wrong here</td></tr>
      <tr><th>r</th><td>revert an automatic edit near the flag (then its number when there are several)</td></tr>
      <tr><th>u</th><td>withdraw my decision on this flag</td></tr>
      <tr><th>?</th><td>this help; Esc closes it</td></tr>
    </table>
    <p class="muted">Every decision is saved at once in _normalize/decisions.jsonl, with your name and the
    time. <code>normalize apply</code> applies them to the cleaned documents and proposes gazetteer
    changes; flags on which reviewers disagree are shown as conflicts and skipped.</p>
    <button type="button" id="help-close">Close</button>
  </div>
</div>
<script src="/app.js"></script>
</body></html>
"""


def render_page(token: str, name: str) -> str:
    return _HTML.format(token=html.escape(token, quote=True), name=html.escape(name, quote=True))


APP_CSS = """
:root{--bg:#f6f5f2;--fg:#1f2328;--muted:#646b73;--card:#fff;--line:#e3e1dc;--accent:#2f6f8f;
--mark:#fdeaa9;--mark-line:#c99a00;--ins:#e3f4e6;--ins-fg:#1d6b32;--del:#fbe7e6;--del-fg:#9b2c2c;
--lo:#b42318;--mid:#b7791f;--hi:#4a7a52;--chip:#eef3f6;--warn:#fff4e5;--warn-line:#e8a33d}
@media (prefers-color-scheme: dark){:root{--bg:#16181b;--fg:#e6e4df;--muted:#9aa1a9;--card:#1f2226;
--line:#30343a;--accent:#7fb6d3;--mark:#5a4a12;--mark-line:#c9a227;--ins:#173222;--ins-fg:#8fd3a0;
--del:#3a1d1d;--del-fg:#f0a3a3;--chip:#263038;--lo:#f07a6e;--mid:#e0b15a;--hi:#8cc196;--warn:#3a2a12;
--warn-line:#b57a22}}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
"DejaVu Sans",Arial,sans-serif}
.top,.toolbar,main,#no-match{max-width:1100px;margin-left:auto;margin-right:auto}
.top{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;padding:22px 24px 6px}
h1{font-size:21px;font-weight:600;margin:0}
h2{font-size:16px;margin:0 0 10px}
.muted,.sub{color:var(--muted)}
.sub{margin:2px 0 0;font-size:13.5px}
.who{display:flex;gap:8px;align-items:center;font-size:13.5px;color:var(--muted)}
.who input{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:6px;
padding:3px 8px;width:11em}
button{font:inherit;font-size:13px;background:var(--card);color:var(--fg);border:1px solid var(--line);
border-radius:6px;padding:3px 10px;cursor:pointer}
button:hover:not(:disabled){border-color:var(--accent);color:var(--accent)}
button:disabled{opacity:.45;cursor:default}
button.on{background:var(--accent);border-color:var(--accent);color:#fff}
.toolbar{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;
margin-top:10px;margin-bottom:10px;padding:9px 14px;background:var(--card);border:1px solid var(--line);
border-radius:10px;box-shadow:0 2px 6px rgba(0,0,0,.06);font-size:13.5px}
.toolbar label{display:flex;gap:6px;align-items:center;color:var(--muted);white-space:nowrap}
.toolbar select{max-width:220px;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);
border-radius:6px;padding:2px 6px}
.toolbar input[type=range]{accent-color:var(--accent);width:100px}
.toolbar .count{margin-left:auto;color:var(--muted)}
main{padding:0 24px 60px}
.flag{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--hi);border-radius:10px;
margin:12px 0;padding:10px 16px 12px;scroll-margin-top:70px}
.flag.c-lo{border-left-color:var(--lo)}.flag.c-mid{border-left-color:var(--mid)}
.flag.current{box-shadow:0 0 0 2px var(--accent)}
.flag.decided{opacity:.78}.flag.current.decided{opacity:1}
.fhead{display:flex;gap:10px;align-items:baseline;font-size:12.5px;color:var(--muted)}
.fhead .doc{font-weight:600;color:var(--fg);overflow-wrap:anywhere}
.fhead .state{margin-left:auto;border-radius:999px;padding:0 9px;background:var(--chip)}
.fhead .state.conflict{background:var(--warn);color:var(--fg);border:1px solid var(--warn-line)}
.ctx{margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere;font:15.5px/1.7 Charter,Georgia,"DejaVu Serif",serif}
mark.hl{background:var(--mark);color:inherit;box-shadow:inset 0 -2px 0 var(--mark-line);border-radius:2px}
.ed{text-decoration:underline dotted var(--ins-fg) 2px;text-underline-offset:4px}
.ed.reverted{text-decoration:line-through;text-decoration-color:var(--del-fg)}
sup.el{font:600 10px system-ui,sans-serif;color:var(--ins-fg);margin:0 1px}
.cut{color:var(--del-fg);font:12px system-ui,sans-serif}
.gap{color:var(--muted)}
ul.reasons,ul.edits,ul.verdicts{list-style:none;margin:4px 0;padding:0}
.reasons li{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline;margin:4px 0}
.tag{background:var(--chip);color:var(--accent);border-radius:999px;padding:0 9px;font-size:12.5px;font-weight:600}
.msg{flex:1 1 320px}
.sugg{flex-basis:100%;display:flex;gap:8px;align-items:baseline;font-size:14px}
del{background:var(--del);color:var(--del-fg);padding:0 3px;border-radius:3px}
ins{background:var(--ins);color:var(--ins-fg);text-decoration:none;padding:0 3px;border-radius:3px}
.edits{font-size:13.5px;margin-left:2px}
.edits li{display:flex;flex-wrap:wrap;gap:2px 10px;align-items:baseline;padding:2px 0;border-top:1px dashed var(--line)}
.edits li:first-child{border-top:0}
.edits .rule{color:var(--muted);font:12px ui-monospace,"DejaVu Sans Mono",monospace}
.edits .ba{flex:1 1 300px;overflow-wrap:anywhere}
h4{font-size:11.5px;font-weight:600;margin:8px 0 2px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.actions{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
.actions kbd,.sugg kbd,td kbd{font:11px ui-monospace,monospace;color:var(--muted);margin-left:4px}
.correct{margin-top:8px}
.correct textarea{width:100%;min-height:4.5em;font:15px/1.5 Charter,Georgia,"DejaVu Serif",serif;color:var(--fg);
background:var(--bg);border:1px solid var(--accent);border-radius:6px;padding:6px 8px}
.correct .row{display:flex;gap:6px;margin-top:4px;align-items:center}
.verdicts{font-size:13.5px;margin-top:8px}
.verdicts li{margin:2px 0}
.verdicts .who{font-weight:600;display:inline}
.conflict-note{background:var(--warn);border:1px solid var(--warn-line);border-radius:6px;padding:4px 10px;
font-size:13.5px;margin-top:8px}
.empty{color:var(--muted);text-align:center;padding:24px}
#status{position:fixed;right:18px;bottom:16px;background:var(--fg);color:var(--bg);border-radius:8px;
padding:6px 12px;font-size:13.5px;opacity:0;transition:opacity .2s;pointer-events:none;max-width:60vw}
#status.show{opacity:.92}#status.err{background:var(--lo);color:#fff}
#help{position:fixed;inset:0;background:rgba(0,0,0,.35);display:flex;align-items:center;justify-content:center;z-index:10}
.help-box{background:var(--card);border-radius:12px;padding:18px 22px;max-width:560px;box-shadow:0 8px 30px rgba(0,0,0,.3)}
.help-box th{text-align:left;padding:3px 14px 3px 0;font:600 13px ui-monospace,monospace;white-space:nowrap}
.help-box td{padding:3px 0;font-size:14px}
[hidden]{display:none!important}
"""

APP_JS = r"""
(function () {
  "use strict";
  var token = document.querySelector('meta[name="review-token"]').getAttribute("content");
  var S = null;            // the state from /api/state
  var cards = [];          // one per flag: {flag, el, parts}
  var current = -1;
  var revertMode = false;
  var KEY = "normalize-review:reviewer";
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function button(label, kbd, onClick) {
    var b = el("button", "", label);
    b.type = "button";
    if (kbd) add(b, el("kbd", "", kbd));
    b.addEventListener("click", function (ev) { ev.stopPropagation(); onClick(); });
    return b;
  }
  var statusTimer = null;
  function status(msg, isError) {
    var s = $("status");
    s.textContent = msg;
    s.className = "show" + (isError ? " err" : "");
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { s.className = ""; }, isError ? 6000 : 2200);
  }
  function reviewer() {
    var v = $("reviewer").value.trim();
    return v || S.reviewer;
  }
  function letter(i) { return String.fromCharCode(97 + i); }
  function show(s) {
    if (s === "") return "∅";
    return s.replace(/\n/g, "↵").replace(/\t/g, "⇥");
  }

  // -- decisions --------------------------------------------------------------------------------
  function target(key) { return (S.decisions && S.decisions[key]) || null; }
  function flagState(c) {
    var t = target("flag:" + c.flag.id);
    var conflict = !!(t && t.conflict);
    var decided = !!(t && t.active > 0);
    c.flag.edits.forEach(function (e) {
      var te = target("edit:" + e.id);
      if (te && te.active > 0) decided = true;
      if (te && te.conflict) conflict = true;
    });
    return conflict ? "conflict" : (decided ? "decided" : "open");
  }
  var WORDS = {"accept": "accepted", "correct": "corrected", "false-alarm": "false alarm", "revert": "reverted"};
  function verdictText(v) {
    var out = WORDS[v.action] || v.action;
    return out;
  }
  function renderVerdicts(c) {
    var box = c.parts.verdicts;
    box.textContent = "";
    var t = target("flag:" + c.flag.id);
    var ul = el("ul", "verdicts");
    if (t) {
      t.latest.forEach(function (v) {
        if (v.action === "clear") return;
        var li = el("li");
        add(li, el("span", "who", v.reviewer), document.createTextNode(": " + verdictText(v)));
        if (v.after !== null && v.after !== undefined) {
          add(li, document.createTextNode(" → "), el("ins", "", show(v.after)));
        }
        if (v.note) add(li, el("span", "muted", " (" + v.note + ")"));
        add(li, el("span", "muted", " · " + String(v.time || "").replace("T", " ").slice(0, 16)));
        ul.appendChild(li);
      });
    }
    if (ul.childNodes.length) box.appendChild(ul);
    if (t && t.conflict) {
      var names = t.latest.filter(function (v) { return v.action !== "clear"; })
        .map(function (v) { return v.reviewer + " (" + verdictText(v) + ")"; });
      box.appendChild(el("div", "conflict-note",
        "Conflict: " + names.join(" and ") + " disagree. apply skips this flag until they agree."));
    }
    // reverts on the edits of this flag
    c.parts.editRows.forEach(function (row) {
      var te = target("edit:" + row.edit.id);
      var active = te ? te.latest.filter(function (v) { return v.action !== "clear"; }) : [];
      row.who.textContent = active.length ? "reverted by " + active.map(function (v) { return v.reviewer; }).join(", ") : "";
      row.btn.textContent = active.length ? "Keep" : "Revert";
      row.btn.title = active.length ? "Withdraw my revert" : "Put back the text as it was before this edit";
      row.reverted = active.length > 0;
      if (row.span) row.span.forEach(function (s) { s.classList.toggle("reverted", row.reverted); });
    });
    var st = flagState(c);
    c.el.classList.toggle("decided", st !== "open");
    c.parts.state.textContent = st === "open" ? "undecided" : (st === "conflict" ? "conflict" : "decided");
    c.parts.state.className = "state " + st;
  }

  function post(body) {
    body.reviewer = reviewer();
    return fetch("/api/decision", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Review-Token": token},
      body: JSON.stringify(body),
      cache: "no-store",
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
        return j;
      });
    });
  }
  function decide(c, body, message, advance) {
    body.flag = c.flag.id;
    return post(body).then(function (res) {
      S.decisions[res.target] = res.state;
      renderVerdicts(c);
      updateSummary();
      status(message);
      if (advance) move(1);
    }).catch(function (err) { status("Not saved: " + err.message, true); });
  }

  // -- actions on the current flag ------------------------------------------------------------------
  function accept(c, i) {
    var r = c.flag.reasons[i];
    if (!r || !r.change) { status("Nothing to accept here: type a correction (e)", true); return; }
    decide(c, {action: "accept", reason: i}, "Accepted “" + r.change.after + "”", true);
  }
  function firstAcceptable(c) {
    for (var i = 0; i < c.flag.reasons.length; i++) if (c.flag.reasons[i].change) return i;
    return -1;
  }
  function falseAlarm(c) { decide(c, {action: "false-alarm"}, "Marked as a false alarm", true); }
  function clearMine(c) { decide(c, {action: "clear"}, "Decision withdrawn", false); }
  function openCorrect(c) {
    var f = c.parts.form;
    if (!c.flag.located) { status("This sentence is not in the document; it cannot be corrected here", true); return; }
    f.hidden = false;
    c.parts.area.value = c.flag.text;
    c.parts.area.focus();
  }
  function saveCorrect(c) {
    var text = c.parts.area.value;
    if (text === c.flag.text) { status("The sentence is unchanged", true); return; }
    decide(c, {action: "correct", text: text}, "Correction saved", false).then(function () {
      c.parts.form.hidden = true;
      c.el.focus();
    });
  }
  function toggleRevert(c, row) {
    if (row.reverted) decide(c, {action: "clear", edit: row.edit.id}, "Edit kept", false);
    else decide(c, {action: "revert", edit: row.edit.id}, "Edit reverted", false);
  }
  function revertKey(c) {
    var rows = c.parts.editRows.filter(function (r) { return r.edit.revertable; });
    if (!rows.length) { status("No automatic edit to revert near this flag", true); return; }
    if (rows.length === 1) { toggleRevert(c, rows[0]); return; }
    revertMode = true;
    status("Revert which edit? Press its number (1–" + Math.min(rows.length, 9) + ")");
  }

  // -- building the cards ---------------------------------------------------------------------------
  function paragraph(f) {
    var ctx = f.context, text = ctx.text;
    var p = el("p", "ctx");
    var spans = {};
    var edits = f.edits.map(function (e, i) { return {e: e, i: i}; })
      .filter(function (x) { return x.e.start !== null && x.e.end !== null; });
    var cuts = {0: true};
    cuts[text.length] = true;
    cuts[ctx.start] = true; cuts[ctx.end] = true;
    edits.forEach(function (x) { cuts[x.e.start] = true; cuts[x.e.end] = true; });
    var pts = Object.keys(cuts).map(Number).filter(function (n) { return n >= 0 && n <= text.length; })
      .sort(function (a, b) { return a - b; });
    if (ctx.clippedLeft) p.appendChild(el("span", "gap", "… "));
    var mark = null;  // the flagged sentence: one <mark> around everything inside it
    function box(a, b) {
      var inside = ctx.end > ctx.start && a >= ctx.start && b <= ctx.end && !(a === b && (a === ctx.start || a === ctx.end));
      if (!inside) return p;
      if (!mark) { mark = el("mark", "hl"); p.appendChild(mark); }
      return mark;
    }
    for (var k = 0; k < pts.length; k++) {
      var a = pts[k], b = k + 1 < pts.length ? pts[k + 1] : null;
      edits.forEach(function (x) {  // removals: a mark where the text was
        if (x.e.start === a && x.e.end === a) {
          var cut = el("span", "cut", "✂");
          cut.title = x.e.pass + "/" + x.e.rule + " removed: " + x.e.before;
          add(cut, el("sup", "el", letter(x.i)));
          box(a, a).appendChild(cut);
        }
      });
      if (b === null || b === a) continue;
      var node = document.createTextNode(text.slice(a, b));
      var over = edits.filter(function (x) { return x.e.start <= a && b <= x.e.end && x.e.start < x.e.end; });
      if (over.length) {
        var u = el("span", "ed");
        u.title = over.map(function (x) {
          return letter(x.i) + ". " + x.e.pass + "/" + x.e.rule + ": " + x.e.before + " → " + x.e.after;
        }).join("\n");
        u.appendChild(node);
        node = u;
        over.forEach(function (x) { (spans[x.e.id] = spans[x.e.id] || []).push(u); });
      }
      var into = box(a, b);
      into.appendChild(node);
      edits.forEach(function (x) {
        if (x.e.end === b && x.e.start < x.e.end) into.appendChild(el("sup", "el", letter(x.i)));
      });
    }
    if (ctx.clippedRight) p.appendChild(el("span", "gap", " …"));
    return {p: p, spans: spans};
  }

  function buildCard(f, index) {
    var doc = S.docs[f.doc];
    var conf = f.confidence;
    var art = el("article", "flag " + (conf < 0.34 ? "c-lo" : conf < 0.5 ? "c-mid" : "c-hi"));
    art.tabIndex = -1;
    art.setAttribute("data-id", f.id);
    var head = el("div", "fhead");
    var state = el("span", "state", "");
    add(head, el("span", "doc", doc ? doc.label : "?"), el("span", "conf", "confidence " + conf.toFixed(2)), state);
    var para = paragraph(f);
    add(art, head, para.p);
    var c = {flag: f, el: art, index: index, parts: {state: state, editRows: []}};

    var ul = el("ul", "reasons");
    var n = 0;
    f.reasons.forEach(function (r, i) {
      var li = el("li");
      add(li, el("span", "tag", r.code), el("span", "msg", r.message));
      if (r.suggestion !== null) {
        var sg = el("div", "sugg");
        if (r.change) {
          n += 1;
          add(sg, el("del", "", show(r.change.before)), el("span", "muted", "→"), el("ins", "", show(r.change.after)));
          var b = button("Accept", n <= 9 ? (n === 1 ? "a / 1" : String(n)) : "", function () { accept(c, i); });
          b.className = "accept";
          b.setAttribute("data-reason", String(i));
          sg.appendChild(b);
        } else {
          add(sg, el("span", "muted", "suggests"), el("ins", "", show(r.suggestion)),
            el("span", "muted", "(cannot be placed in the text: type a correction)"));
        }
        li.appendChild(sg);
      }
      ul.appendChild(li);
    });
    art.appendChild(ul);

    if (f.edits.length) {
      add(art, el("h4", "", "Automatic edits nearby"));
      var eul = el("ul", "edits");
      f.edits.forEach(function (e, i) {
        var li = el("li");
        var ba = el("span", "ba");
        add(ba, el("del", "", show(e.before)), el("span", "muted", " → "), el("ins", "", show(e.after)));
        var row = {edit: e, who: el("span", "muted", ""), span: para.spans[e.id] || null, reverted: false};
        row.btn = button("Revert", null, function () { toggleRevert(c, row); });
        row.btn.className = "revert";
        row.btn.disabled = !e.revertable;
        add(li, el("span", "num", letter(i) + "."), el("span", "rule", e.pass + "/" + e.rule), ba, row.who, row.btn);
        if (e.reason) li.title = e.reason;
        eul.appendChild(li);
        c.parts.editRows.push(row);
      });
      art.appendChild(eul);
    }

    var actions = el("div", "actions");
    var first = firstAcceptable(c);
    var acc = button("Accept suggestion", "a", function () { accept(c, firstAcceptable(c)); });
    acc.disabled = first < 0;
    add(actions, acc,
      button("Correct…", "e", function () { openCorrect(c); }),
      button("False alarm", "f", function () { falseAlarm(c); }),
      button("Withdraw mine", "u", function () { clearMine(c); }));
    art.appendChild(actions);

    var form = el("div", "correct");
    form.hidden = true;
    var area = el("textarea");
    area.setAttribute("aria-label", "Corrected sentence");
    var row2 = el("div", "row");
    add(row2, button("Save correction", "Ctrl+Enter", function () { saveCorrect(c); }),
      button("Cancel", "Esc", function () { form.hidden = true; art.focus(); }),
      el("span", "muted", "Edit the sentence as it should read."));
    add(form, area, row2);
    area.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); saveCorrect(c); }
      else if (ev.key === "Escape") { ev.preventDefault(); form.hidden = true; art.focus(); }
    });
    art.appendChild(form);
    c.parts.form = form;
    c.parts.area = area;
    c.parts.verdicts = el("div", "verdict-box");
    art.appendChild(c.parts.verdicts);
    art.addEventListener("click", function () { setCurrent(c.index, false); });
    renderVerdicts(c);
    return c;
  }

  // -- navigation and filters -----------------------------------------------------------------------
  function visible() { return cards.filter(function (c) { return !c.el.hidden; }); }
  function setCurrent(i, scroll) {
    if (current >= 0 && cards[current]) cards[current].el.classList.remove("current");
    current = i;
    revertMode = false;
    if (i < 0 || !cards[i]) return;
    cards[i].el.classList.add("current");
    if (scroll) {
      cards[i].el.scrollIntoView({block: "center"});
      cards[i].el.focus({preventScroll: true});
    }
  }
  function move(step, onlyOpen) {
    var vis = visible();
    if (!vis.length) return;
    var pos = vis.findIndex(function (c) { return c.index === current; });
    for (var k = 1; k <= vis.length; k++) {
      var j = pos + step * k;
      if (j < 0 || j >= vis.length) break;
      if (!onlyOpen || flagState(vis[j]) === "open") { setCurrent(vis[j].index, true); return; }
    }
    if (pos < 0) setCurrent(vis[step > 0 ? 0 : vis.length - 1].index, true);
  }
  function applyFilters() {
    var r = $("f-reason").value, d = $("f-doc").value, st = $("f-status").value;
    var conf = parseFloat($("f-conf").value);
    $("f-conf-out").textContent = conf.toFixed(2);
    var shown = 0;
    cards.forEach(function (c) {
      var f = c.flag;
      var ok = (r === "" || f.reasons.some(function (x) { return x.code === r; })) &&
        (d === "" || String(f.doc) === d) && f.confidence <= conf + 1e-9 && (st === "" || flagState(c) === st);
      c.el.hidden = !ok;
      if (ok) shown++;
    });
    $("f-count").textContent = shown + " of " + cards.length + " flag" + (cards.length === 1 ? "" : "s") + " shown";
    $("no-match").hidden = !(cards.length && !shown);
    if (current >= 0 && cards[current] && cards[current].el.hidden) setCurrent(-1, false);
  }
  function updateSummary() {
    var counts = {open: 0, decided: 0, conflict: 0};
    cards.forEach(function (c) { counts[flagState(c)]++; });
    $("summary").textContent = cards.length + " flagged sentence" + (cards.length === 1 ? "" : "s") + " in " +
      S.docs.length + " document" + (S.docs.length === 1 ? "" : "s") + " · " + counts.decided + " decided · " +
      counts.conflict + " conflict" + (counts.conflict === 1 ? "" : "s") + " · " + counts.open + " undecided" +
      (S.run.files ? " · only the files " + S.run.files.join(", ") :
        S.run.flags_in_run > cards.length ? " · the first " + cards.length + " of the run's " +
        S.run.flags_in_run + " flags (normalize review --max-flags, --file)" : "");
  }

  function toggleHelp(on) {
    var h = $("help");
    h.hidden = on === undefined ? !h.hidden : !on;
    if (!h.hidden) $("help-close").focus();
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.key === "Escape") { toggleHelp(false); revertMode = false; return; }
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "?") { ev.preventDefault(); toggleHelp(); return; }
    if (!$("help").hidden) return;
    var c = current >= 0 ? cards[current] : null;
    var k = ev.key;
    if (k === "j") { move(1); }
    else if (k === "k") { move(-1); }
    else if (k === "n") { move(1, true); }
    else if (!c) { if ("aefru".indexOf(k) >= 0) status("Choose a flag first (j)", true); return; }
    else if (revertMode && /^[1-9]$/.test(k)) {
      revertMode = false;
      var rows = c.parts.editRows.filter(function (r) { return r.edit.revertable; });
      var row = rows[Number(k) - 1];
      if (row) toggleRevert(c, row); else status("No edit " + k, true);
    }
    else if (/^[1-9]$/.test(k)) {
      var idx = -1, seen = 0;
      c.flag.reasons.forEach(function (r, i) { if (r.change && ++seen === Number(k)) idx = i; });
      if (idx >= 0) accept(c, idx); else status("No suggestion " + k, true);
    }
    else if (k === "a") { accept(c, firstAcceptable(c)); }
    else if (k === "f") { falseAlarm(c); }
    else if (k === "e") { ev.preventDefault(); openCorrect(c); }
    else if (k === "r") { revertKey(c); }
    else if (k === "u") { clearMine(c); }
    else return;
    ev.preventDefault();
  });

  function init(state) {
    S = state;
    S.decisions = S.decisions || {};
    var who = $("reviewer");
    var saved = null;
    try { saved = window.localStorage.getItem(KEY); } catch (e) { saved = null; }
    who.value = saved || S.reviewer;
    who.addEventListener("change", function () {
      try { window.localStorage.setItem(KEY, who.value.trim()); } catch (e) { /* private mode */ }
    });
    var reasonSel = $("f-reason"), docSel = $("f-doc");
    S.reasons.forEach(function (r) { reasonSel.add(new Option(r.code + " (" + r.count + ")", r.code)); });
    S.docs.forEach(function (d) { docSel.add(new Option(d.label + " (" + d.flags + ")", String(d.id))); });
    var main = $("flags");
    S.flags.forEach(function (f, i) { var c = buildCard(f, i); cards.push(c); main.appendChild(c.el); });
    if (!cards.length) main.appendChild(el("p", "empty", "No flags in this run: nothing to review."));
    ["f-reason", "f-doc", "f-status"].forEach(function (id) { $(id).addEventListener("change", applyFilters); });
    $("f-conf").addEventListener("input", applyFilters);
    $("help-btn").addEventListener("click", function () { toggleHelp(); });
    $("help-close").addEventListener("click", function () { toggleHelp(false); });
    applyFilters();
    updateSummary();
    document.body.setAttribute("data-ready", "1");
  }

  fetch("/api/state", {cache: "no-store"}).then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }).then(init).catch(function (err) {
    $("summary").textContent = "Could not load the run: " + err.message;
  });
})();
"""
