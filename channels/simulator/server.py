"""The simulator's HTTP face (standard library only).

    POST /{channel}/status   {"references": [...]}  -> {"results": [{reference, found, events}]}
                             signed both ways (channels/poll_signing.py): a query not signed
                             with the channel's poll secret answers 401; answers are signed
                             with its signing secret and the query's webhook-id
    POST /{channel}/swipes   {"swipes": [...], "push": false}  plan swipes made elsewhere (tests, bench)
    GET  /{channel}/swipes   each swipe and how far it got;  GET /{channel}/events  every event so far
    GET  /{channel}/settlement-files/{YYYY-MM-DD}   the day's settlement file (404 not_ready until it is),
                             signed like status: the request signs "GET <path>" with the poll
                             secret (else 401), the file's bytes are signed back
    GET  /healthz
"""

import json
import logging
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from channels.poll_signing import file_request_payload, sign, sign_bytes, verified
from channels.simulator.engine import Simulator, now_utc

log = logging.getLogger(__name__)
MAX_REFERENCES = 1000


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator):
        super().__init__(address, Handler)
        self.simulator = simulator


class Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)

    def _json(self, status: int, body: dict, *, sign_with: str = "", msg_id: str = "") -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        if sign_with:
            for name, value in sign(sign_with, data, msg_id=msg_id).items():
                if name != "content-type":
                    self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    def _body(self) -> dict | None:
        length = int(self.headers.get("content-length") or 0)
        self.raw = self.rfile.read(length)
        try:
            body = json.loads(self.raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _route(self) -> tuple[str, str]:
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        return (parts[0], parts[1]) if len(parts) == 2 else ("", "/".join(parts))

    def _file(self, sim, code: str, day: str) -> None:
        try:
            business_date = date.fromisoformat(day)
        except ValueError:
            return self._error(400, "invalid_date", "The date must be YYYY-MM-DD.")
        channel = sim.channels[code]
        path = self.path.split("?")[0]
        if not (channel.poll_secret and verified([channel.poll_secret], file_request_payload(path), self.headers)):
            return self._error(401, "invalid_signature", "The request is not signed with this channel's poll secret.")
        answer = sim.settlement_file(code, business_date, now_utc())
        if answer is None:
            return self._error(404, "not_ready", "The settlement file for this date is not ready yet.")
        data, faults = answer
        self.send_response(200)
        for name, value in sign_bytes(channel.secret, data, msg_id=self.headers["webhook-id"]).items():
            self.send_header(name, value)
        self.send_header("content-type", f"text/csv; charset={'gb18030' if faults.gb18030 else 'utf-8'}")
        self.send_header("content-disposition", f'attachment; filename="{code}-{business_date}.csv"')
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        sim = self.server.simulator
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) == 3 and parts[1] == "settlement-files" and parts[0] in sim.channels:
            return self._file(sim, parts[0], parts[2])
        code, what = self._route()
        if what == "healthz":
            return self._json(200, {"ok": True, "channels": sorted(sim.channels), "scenario": sim.scenario.name})
        if code not in sim.channels:
            return self._error(404, "unknown_channel", "No such channel here.")
        if what == "swipes":
            return self._json(200, {"swipes": sim.store.swipes(code, now_utc())})
        if what == "events":
            return self._json(200, {"events": sim.store.all_events(code, now_utc())})
        return self._error(404, "not_found", "No such endpoint.")

    def do_POST(self):
        sim = self.server.simulator
        code, what = self._route()
        body = self._body()
        if code not in sim.channels:
            return self._error(404, "unknown_channel", "No such channel here.")
        if body is None:
            return self._error(400, "invalid_json", "The body must be a JSON object.")
        if what == "swipes":
            added = sim.inject(code, list(body.get("swipes") or []), push=bool(body.get("push")))
            return self._json(200, {"added": added})
        if what != "status":
            return self._error(404, "not_found", "No such endpoint.")
        channel = sim.channels[code]
        if not (channel.poll_secret and verified([channel.poll_secret], self.raw, self.headers)):
            return self._error(401, "invalid_signature", "The query is not signed with this channel's poll secret.")
        msg_id = self.headers["webhook-id"]
        request_no = sim.next_request_no()
        if sim.in_outage(now_utc()):
            if sim.scenario_outage_mode(code, request_no) == "hang":
                time.sleep(sim.hang_seconds)
                return self._error(504, "upstream_timeout", "Clearing system did not answer.")
            return self._error(503, "unavailable", "Status service unavailable.")
        references = body.get("references")
        if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
            return self._error(400, "invalid_references", "references must be a list of strings.")
        if len(references) > MAX_REFERENCES:
            return self._error(413, "too_many_references", f"At most {MAX_REFERENCES} references per query.")
        if sim.latency:
            time.sleep(sim.latency)
        return self._json(200, sim.status_answer(code, references, request_no), sign_with=channel.secret,
                          msg_id=msg_id)


def serve(simulator: Simulator, host: str, port: int) -> SimulatorServer:
    return SimulatorServer((host, port), simulator)
