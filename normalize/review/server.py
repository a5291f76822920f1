"""The review app: a small local web server over a finished run (standard library only).

``normalize review OUT`` serves, on 127.0.0.1 only:

    GET  /               the page (HTML; its script and style are /app.js and /app.css)
    GET  /api/state      JSON: the flags with their context, reasons, suggestions and nearby
                         edits, the documents, and the decisions made so far (re-read each time)
    POST /api/decision   JSON body: one decision; it is appended to decisions.jsonl before the
                         answer is sent

A POST must carry ``Content-Type: application/json``, a ``Content-Length`` of at most
``MAX_BODY`` bytes and the page's token (``X-Review-Token``; a page from elsewhere cannot read
it), and its Host (and Origin, when sent) must be this server: other sites and DNS rebinding
cannot post decisions. The body is checked field by field: a known action, a known flag id, a
known edit of that flag's document for a revert, a reason whose suggestion can be placed for an
accept, a changed sentence of bounded length for a correction, a reviewer name of printable
characters. Errors are 4xx with ``{"error": message}``. Every response forbids remote loads
(Content-Security-Policy), framing and sniffing. The server writes nothing but
OUT/_normalize/decisions.jsonl.

Body of a decision: ``{"action", "flag", "reviewer"}`` plus ``reason`` (accept: index into the
flag's reasons), ``text`` (correct: the corrected sentence), ``edit`` (revert; or clear, to
withdraw a revert), ``note`` (optional, any action).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import threading
import unicodedata
from collections import Counter
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .decisions import ACTIONS, DecisionStore, TargetState, effective
from .page import APP_CSS, APP_JS, render_page
from .run import RunView, locate_match

MAX_BODY = 64 * 1024
MAX_NOTE = 2000
MAX_NAME = 80
#: flags the app shows by default (the first ones of the run, as in report.html); ``--max-flags``
MAX_FLAGS = 5000
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


#: the optional fields each action may carry
_USES = {"accept": {"reason"}, "correct": {"text"}, "false-alarm": set(), "revert": {"edit"}, "clear": {"edit"}}


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def valid_name(name: Any) -> bool:
    return (isinstance(name, str) and 0 < len(name.strip()) <= MAX_NAME and name == name.strip()
            and all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in name))


class ReviewApp:
    """The app's logic, apart from HTTP: what the page shows and how a decision is checked."""

    def __init__(self, out_dir: Path | str, reviewer: str = "reviewer", max_flags: int | None = MAX_FLAGS,
                 files: Collection[str] | None = None) -> None:
        self.view = RunView(out_dir, files=files, max_flags=max_flags)
        self.store = DecisionStore(out_dir)
        self.reviewer = reviewer
        self.files = None if files is None else frozenset(files)
        self.token = secrets.token_urlsafe(24)
        self._static = self._static_state()

    # -- state -------------------------------------------------------------------------------
    def _static_state(self) -> dict[str, Any]:
        view = self.view
        docs = [d for d in view.docs.values() if d.flags]
        doc_index = {d.key: i for i, d in enumerate(docs)}
        reasons: Counter[str] = Counter()
        flags = []
        for doc in docs:
            for f in doc.flags:
                for r in f.reasons:
                    reasons[str(r.get("code", "?"))] += 1
                ctx = view.context(f)
                off = ctx.pop("offset")
                edits = []
                for e in f.near_edits():
                    rel = (e.cstart - off, e.cend - off) if off is not None and e.cstart is not None \
                        and e.cend is not None else (None, None)
                    inside = rel[0] is not None and 0 <= rel[0] <= rel[1] <= len(ctx["text"])
                    edits.append({"id": e.id, "pass": str(e.rec.get("pass", "")), "rule": str(e.rec.get("rule", "")),
                                  "action": e.action, "before": e.before, "after": e.after,
                                  "reason": str(e.rec.get("reason") or ""),
                                  "start": rel[0] if inside else None, "end": rel[1] if inside else None,
                                  "revertable": e.revertable})
                flags.append({
                    "id": f.id, "doc": doc_index[doc.key], "confidence": f.confidence, "text": f.text,
                    "located": f.located, "context": ctx,
                    "reasons": [{"code": str(r.get("code", "?")), "message": str(r.get("message") or ""),
                                 "suggestion": r.get("suggestion") if isinstance(r.get("suggestion"), str) else None,
                                 "change": ({"before": c.before, "after": c.after} if c else None)}
                                for r, c in zip(f.reasons, f.changes)],
                    "edits": edits,
                })
        return {
            "run": {"out": str(view.out_dir), "flags": len(view.flags), "documents": len(view.docs),
                    "flags_in_run": view.flags_in_run, "files": None if self.files is None else sorted(self.files)},
            "docs": [{"id": i, "label": d.label, "flags": len(d.flags)} for i, d in enumerate(docs)],
            "reasons": [{"code": c, "count": n} for c, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0]))],
            "flags": flags,
        }

    def decisions_state(self) -> dict[str, Any]:
        states = effective(self.store.load())
        return {key: self._target_json(st) for key, st in states.items()}

    @staticmethod
    def _target_json(st: TargetState) -> dict[str, Any]:
        latest = []
        for reviewer, d in sorted(st.latest.items()):
            latest.append({"reviewer": reviewer, "action": d.get("action"), "time": d.get("time"),
                           "after": (d.get("change") or {}).get("after"), "note": d.get("note")})
        return {"latest": latest, "conflict": st.conflict, "active": len(st.active)}

    def state(self) -> dict[str, Any]:
        return {**self._static, "reviewer": self.reviewer, "decisions": self.decisions_state()}

    # -- decisions -----------------------------------------------------------------------------
    def decide(self, body: Any) -> dict[str, Any]:
        """Check a POSTed decision, append it, return it with its target's new state."""
        if not isinstance(body, dict):
            raise BadRequest(400, "the body must be a JSON object")
        allowed = {"action", "flag", "reviewer", "reason", "text", "edit", "note"}
        extra = sorted(set(body) - allowed)
        if extra:
            raise BadRequest(400, f"unknown field(s): {', '.join(extra)}")
        action = body.get("action")
        if action not in ACTIONS:
            raise BadRequest(400, f"unknown action (actions: {', '.join(ACTIONS)})")
        for k in ("reason", "text", "edit"):
            if body.get(k) is not None and k not in _USES[action]:
                raise BadRequest(400, f"{k}: not used by {action}")
        fid = body.get("flag")
        flag = self.view.flags.get(fid) if isinstance(fid, str) else None
        if flag is None:
            raise BadRequest(404, "unknown flag id")
        reviewer = body.get("reviewer", self.reviewer)
        if not valid_name(reviewer):
            raise BadRequest(400, f"reviewer: a name of 1 to {MAX_NAME} printable characters")
        note = body.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note):
            raise BadRequest(400, f"note: text of at most {MAX_NOTE} characters")
        rec: dict[str, Any] = {"reviewer": reviewer, "action": action, "flag": flag.id,
                               "file": flag.doc.file, "line": flag.doc.line, "start": flag.start,
                               "end": flag.end, "text": flag.text}
        if action in ("accept", "correct", "false-alarm"):  # what the flag said, for the proposals
            rec["reasons"] = [{"code": str(r.get("code", "?")), "suggestion": r.get("suggestion"),
                               "span": list(sp) if (sp := locate_match(self.view, flag, i)) else None}
                              for i, r in enumerate(flag.reasons)]
        if action == "accept":
            i = body.get("reason")
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(flag.reasons):
                raise BadRequest(400, "reason: the index of one of the flag's reasons")
            change = flag.changes[i]
            if change is None:
                raise BadRequest(400, "this reason has no suggestion that can be placed in the text; "
                                      "type a correction instead")
            rec.update(reason=i, code=flag.reasons[i].get("code"), suggestion=flag.reasons[i].get("suggestion"),
                       change=change.to_json())
        elif action == "correct":
            text = body.get("text")
            limit = max(4 * len(flag.text), len(flag.text) + 2000)
            if not isinstance(text, str) or "\x00" in text or len(text) > limit:
                raise BadRequest(400, f"text: the corrected sentence (at most {limit} characters)")
            if not flag.located:
                raise BadRequest(400, "the flagged sentence is not in the document; it cannot be corrected here")
            change = flag.correction(text)
            if change is None:
                raise BadRequest(400, "text: the correction does not change the sentence")
            rec.update(corrected=text, change=change.to_json())
        elif action == "false-alarm":
            rec["codes"] = [str(r.get("code", "?")) for r in flag.reasons]
        elif action == "revert" or (action == "clear" and body.get("edit") is not None):
            eid = body.get("edit")
            found = self.view.edits.get(eid) if isinstance(eid, str) else None
            if found is None or found[0] is not flag.doc:
                raise BadRequest(404, "unknown edit id (an automatic edit of this flag's document)")
            ev = found[1]
            rec.update(edit=ev.id, edit_rule=f"{ev.rec.get('pass')}/{ev.rec.get('rule')}")
            if action == "revert":
                change = ev.revert_change()
                if change is None:
                    raise BadRequest(400, "this edit cannot be placed in the cleaned text; it cannot be reverted")
                rec["change"] = change.to_json()
                rec["context"] = self.view.line_context(flag.doc, change.start, change.end)
        if note:
            rec["note"] = note
        written = self.store.append(rec)
        key = f"edit:{rec['edit']}" if "edit" in rec else f"flag:{flag.id}"
        st = effective(self.store.load()).get(key) or TargetState(key)
        return {"ok": True, "decision": written, "target": key, "state": self._target_json(st)}


class _Handler(BaseHTTPRequestHandler):
    server_version = "normalize-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stops sending mid-request does not hold a thread for ever
    server: ReviewServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- responses -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, close: bool = False) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8",
                   close)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        self._json(status, {"error": message}, close)

    def _host_ok(self) -> bool:
        return (self.headers.get("Host") or "").lower() in self.server.allowed_hosts

    # -- methods -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._host_ok():
            self._error(403, "unexpected Host header")
            return
        path = self.path.split("?", 1)[0]
        app = self.server.app
        if path == "/":
            self._send(200, render_page(app.token, app.view.out_dir.name).encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/app.js":
            self._send(200, APP_JS.encode("utf-8"), "text/javascript; charset=utf-8")
        elif path == "/app.css":
            self._send(200, APP_CSS.encode("utf-8"), "text/css; charset=utf-8")
        elif path == "/api/state":
            self._json(200, app.state())
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        else:
            self._error(404, "not found")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        app = self.server.app
        if not self._host_ok():
            self._error(403, "unexpected Host header", close=True)
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.server.allowed_hosts}:
            self._error(403, "cross-origin request", close=True)
            return
        if self.path != "/api/decision":
            self._error(404, "not found", close=True)
            return
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            self._error(415, "Content-Type must be application/json", close=True)
            return
        if not secrets.compare_digest(self.headers.get("X-Review-Token") or "", app.token):
            self._error(403, "missing or wrong X-Review-Token (reload the page)", close=True)
            return
        length_h = self.headers.get("Content-Length")
        if length_h is None or self.headers.get("Transfer-Encoding"):
            self._error(411, "Content-Length is required", close=True)
            return
        try:
            length = int(length_h)
        except ValueError:
            self._error(400, "bad Content-Length", close=True)
            return
        if length < 0:
            self._error(400, "bad Content-Length", close=True)
            return
        if length > MAX_BODY:
            self._error(413, f"body too large (at most {MAX_BODY} bytes)", close=True)
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._error(400, "the body is not valid JSON")
            return
        try:
            result = app.decide(body)
        except BadRequest as exc:
            self._error(exc.status, exc.message)
            return
        except OSError as exc:
            self._error(500, f"could not save the decision: {exc}")
            return
        self._json(200, result)

    def do_PUT(self) -> None:
        self._error(405, "method not allowed", close=True)

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, app: ReviewApp, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        if not is_loopback(host):
            raise ValueError(f"the review server only listens on this machine (127.0.0.1, ::1), not on {host!r}")
        if host == "localhost":
            host = "127.0.0.1"
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.verbose = verbose
        super().__init__((host, port), _Handler)
        self.host = host
        self.port = self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.allowed_hosts = {f"{shown}:{self.port}", f"localhost:{self.port}"}
        self.url = f"http://{shown}:{self.port}/"


def make_server(out_dir: Path | str, host: str = "127.0.0.1", port: int = 0, reviewer: str = "reviewer",
                verbose: bool = False, max_flags: int | None = MAX_FLAGS,
                files: Collection[str] | None = None) -> ReviewServer:
    """A review server for the run in ``out_dir`` (not yet serving: call ``serve_forever``): the
    first ``max_flags`` flags (None: all) of the run, or of its output ``files``."""
    return ReviewServer(ReviewApp(out_dir, reviewer, max_flags, files), host, port, verbose)


def serve_in_thread(server: ReviewServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, name="normalize-review", daemon=True)
    t.start()
    return t

