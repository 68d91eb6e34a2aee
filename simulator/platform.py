"""The mock platform's core: one received form in, one envelope out. Transport-free, so the
same state model serves in-process tests and the ASGI server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import select

from simulator import checks, queries, rules, writer
from simulator.clock import Clock
from simulator.config import Settings
from simulator.faults import Fault, Faults
from simulator.form import first_values
from simulator.store import Store, dumps, jobs
from simulator.tenants import TenantRegistry
from simulator.traffic import Entry, TrafficLog
from standard import errors, methods, payload, requirements
from standard.envelope import BEIJING, Code, Envelope
from standard.models.base import WireModel
from standard.payload import KeyNote, render_key_notes
from standard.requirements import enforced

log = logging.getLogger("jzgr.simulator")
FAR_FUTURE = datetime(2199, 1, 1)
UNKNOWN_SERIAL = "[requestSerialCode]值超出范围或无效"
# What decided an answer, as the inspection log and the console show it: a requirement of the
# registry, or one of two operational marks that are no rule of the standard.
ASYNC_RESULT = enforced("REQ-ASYNC-02")  # AsyncHandleResult.Query: 0, then 20 or 10
CHECK_SIGN = enforced("REQ-SIG-01")  # CheckSign.Query answers a well-signed request
OWN_PROJECTS = enforced("REQ-TEN-01")  # an appid reaches only its own projects
QUERY_PAGE = enforced("REQ-PAGE-02")  # a query's page
FAULT = "FAULT"  # an injected fault answered, not a rule
INTERNAL = "INTERNAL"  # a bug of ours answered with the platform's -6, not a rule


@dataclass
class Answer:
    envelope: Envelope
    check_id: str = ""  # the check or rule that decided, for the inspection log
    verdicts: list[tuple[str, str]] = field(default_factory=list)
    data: Any = None  # the decoded data (plaintext), when the request got that far
    serial: str | None = None
    fault: Fault | None = None
    key_notes: tuple[KeyNote, ...] = ()  # received keys that are not the standard's (payload.match_keys)
    async_status: int | None = None  # the status an AsyncHandleResult.Query answered

    def body(self) -> bytes:
        return self.envelope.to_bytes()


@dataclass
class PendingWrite:
    unit: writer.Unit
    key_notes: tuple[KeyNote, ...] = ()


KEEP_CHARS = 20_000  # the inspection log keeps payloads up to this size whole


def clip_strings(value: Any, limit: int = 256) -> Any:
    """Long strings (photos, attachments) cut to their start, so the bounded log stays small."""
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[:64]}…({len(value)} chars)"
    if isinstance(value, dict):
        return {k: clip_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip_strings(v, limit) for v in value]
    return value


class Platform:
    def __init__(self, store: Store, settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock = clock or Clock()
        self.tenants = TenantRegistry(store)
        self.ctx = checks.Context(self.settings, self.clock, store, self.tenants)
        self.traffic = TrafficLog(self.settings.traffic_retention)
        self.faults = Faults()
        self.writer = writer.Writer(store, self.settings)

    def handle(self, pairs: list[tuple[str, str]], client_ip: str = "127.0.0.1", fault: Fault | None = None) -> Answer:
        """Never raises: an unexpected fault is answered with code 9999, logged, never a 500.
        ``fault`` is a transport fault already applied (latency), for the inspection log."""
        started = time.perf_counter()
        form = first_values(pairs)
        try:
            answer = self._handle(form, pairs, client_ip)
        except Exception:  # the answer must stay in the protocol's format
            log.exception("internal error")
            answer = Answer(Envelope(int(Code.ERROR), "Internal Error"), INTERNAL)
        self.record(form, client_ip, answer, time.perf_counter() - started, fault=fault)
        return answer

    async def serve(self, pairs: list[tuple[str, str]], client_ip: str = "127.0.0.1") -> Answer | Fault:
        """As ``handle_async``, with the transport faults that a server acts out: a latency is
        waited here; a fault that withholds the answer (http_error, maintenance, reset, timeout)
        is logged at once, so the client's next move follows it in the log, and returned for the
        server to act out (the request is not processed). Rules that match nothing cost nothing."""
        if self.faults.rules:
            form = first_values(pairs)
            now = self.clock.timestamp()
            fault = self.faults.pick("transport", form.get("appid", ""), form.get("method", ""), now)
            if fault is not None and fault.kind == "latency":
                await asyncio.sleep(self.faults.delay_s(fault))
                return await self.handle_async(pairs, client_ip, fault=fault)
            if fault is not None:
                status = {"http_error": fault.status, "maintenance": 503}.get(fault.kind, 0)
                note = Answer(Envelope(int(Code.ERROR), f"injected {fault.kind}"), FAULT, fault=fault)
                self.record(form, client_ip, note, 0.0, http_status=status)
                return fault
        return await self.handle_async(pairs, client_ip)

    async def handle_async(
        self, pairs: list[tuple[str, str]], client_ip: str = "127.0.0.1", fault: Fault | None = None
    ) -> Answer:
        """As ``handle``, for the server: writes join the group commit instead of committing alone."""
        started = time.perf_counter()
        form = first_values(pairs)
        try:
            step = self._accept(form, pairs, client_ip)
            answer = step if isinstance(step, Answer) else self._finish(step, await self.writer.run(step.unit))
        except Exception:
            log.exception("internal error")
            answer = Answer(Envelope(int(Code.ERROR), "Internal Error"), INTERNAL)
        self.record(form, client_ip, answer, time.perf_counter() - started, fault=fault)
        return answer

    def record(
        self,
        form: dict[str, str],
        client_ip: str,
        answer: Answer,
        seconds: float,
        http_status: int = 200,
        fault: Fault | None = None,
    ) -> None:
        """Add one exchange to the inspection log; ``form`` as ``first_values`` reads it."""
        method = form.get("method", "")
        fault = fault or answer.fault
        small = len(form.get("data", "")) <= KEEP_CHARS
        entry = Entry(  # positional: built for every request
            0,
            self.clock.timestamp(),
            client_ip,
            form.get("appid", ""),
            method,
            answer.envelope.code,
            answer.envelope.message,
            answer.check_id,
            tuple(chain.from_iterable(answer.verdicts)),
            # masked when read (Entry.to_json): masking is paid per look, not per request
            form if small else {**form, "data": form["data"][:KEEP_CHARS]},
            answer.data if small else clip_strings(answer.data),
            seconds * 1000,
            http_status,
            fault.to_json() if fault else None,
            answer.serial,
            answer.key_notes,
            answer.async_status,
        )
        self.traffic.add(entry)

    def _handle(self, form: dict[str, str], pairs: list[tuple[str, str]], client_ip: str) -> Answer:
        step = self._accept(form, pairs, client_ip)
        return step if isinstance(step, Answer) else self._finish(step, self.writer.run_sync(step.unit))

    def _accept(self, form: dict[str, str], pairs: list[tuple[str, str]], client_ip: str) -> Answer | PendingWrite:
        """Everything up to the write's transaction: the answer, or the write to commit."""
        ts = self.clock.timestamp()
        received = checks.Request(form, pairs, client_ip, ts, datetime.fromtimestamp(ts, BEIJING))
        try:
            req = checks.run(self.ctx, received)
        except checks.Reject as exc:
            return Answer(Envelope.error(exc.code, exc.message), exc.check_id, received.verdicts)
        spec = req.method
        burst = self.faults.pick("rate", req.tenant.appid, spec.name, ts)
        if burst is not None:
            return Answer(Envelope.error(Code.RATE_LIMITED, "访问超过限制!"), FAULT, req.verdicts, fault=burst)
        # an asynchronous write's nonce is remembered in the write's transaction (Writer.apply)
        if not spec.is_async and not self.writer.fresh_alone(req):
            env, check_id = writer.answer_for(writer.Written(-1))
            return Answer(env, check_id, req.verdicts)
        notes: list[KeyNote] = []
        try:
            model = self._parse(spec, form["data"], req.tenant.appsecret, req.now, notes)
        except errors.PayloadInvalid as exc:
            first = exc.errors[0] if exc.errors else errors.FieldError(("data",), "format", errors.FORMAT)
            breached = requirements.breached_by(spec.name, first.kind, first.path)
            message = str(exc)
            if self.settings.diagnostics and req.tenant.diagnostics:
                message += _diagnosis(exc.errors, notes)
            return Answer(Envelope.error(Code.BAD_PARAMETER, message), breached, req.verdicts, key_notes=(*notes,))
        key_notes = (*notes,)
        denied = self._project_denied(req, model)
        if denied is not None:
            return Answer(Envelope.error(Code.NO_PERMISSION, denied), OWN_PROJECTS, req.verdicts, key_notes=key_notes)
        if spec.name == "AsyncHandleResult.Query":
            answer = self._async_result(req, str(model.wire()["requestSerialCode"]))
        elif spec.name == "CheckSign.Query":
            answer = Answer(Envelope.success({"appid": req.tenant.appid}), CHECK_SIGN, req.verdicts)
        elif spec.is_async:
            fault = self.faults.pick("async", req.tenant.appid, spec.name, ts)
            return PendingWrite(writer.Unit(req, model, model.wire(), fault), key_notes)
        else:
            answer = self._query(req, spec, model)
        answer.data = model.wire()
        answer.key_notes = key_notes
        return answer

    # ---- steps --------------------------------------------------------------------------

    def _parse(self, spec: methods.Method, text: str, secret: str, now: datetime, notes: list[KeyNote]) -> WireModel:
        settings = self.settings
        profile = settings.parse_profile()
        if settings.defect("accept-aes128"):
            profile = profile.with_(aes128_fallback=True)
        moment = FAR_FUTURE if settings.defect("accept-future-dates") else now.replace(tzinfo=None)
        normalise = spec.normalise
        relax = {
            "ProjectWorker.Add": ("worker-list-6", "workerList", 6),
            "WorkerAttendance.Add": ("attendance-list-21", "dataList", 21),
        }.get(spec.name)
        if relax and settings.defect(relax[0]):
            normalise = _truncating(relax[1], spec.list_limit or 0, relax[2], spec.normalise)
        if spec.paged and settings.defect("page-size-unbounded"):
            normalise = _clamp_page_size
        return payload.parse(
            spec.request, text, secret, profile=profile, now=moment, normalise=normalise, key_notes=notes
        )

    def _project_denied(self, req: checks.Verified, model: WireModel) -> str | None:
        code = getattr(model, "projectCode", None)
        if not code or code in req.tenant.projects:
            return None
        if req.method.kind == "query" and self.settings.defect("leak-other-tenant"):
            return None
        return f"无API访问权限:项目{code}不属于appid {req.tenant.appid}!"

    def _finish(self, step: PendingWrite, written: writer.Written) -> Answer:
        # Reached only after the commit: nothing acknowledged can be lost.
        unit = step.unit
        env, check_id = writer.answer_for(written)
        answer = Answer(env, check_id, unit.req.verdicts, serial=written.serial, fault=unit.fault)
        answer.data = unit.data
        answer.key_notes = step.key_notes
        return answer

    def _async_result(self, req: checks.Verified, serial: str) -> Answer:
        with self.store.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.serial == serial, jobs.c.appid == req.tenant.appid)).first()
        if row is None:
            return Answer(Envelope.error(Code.BAD_PARAMETER, UNKNOWN_SERIAL), ASYNC_RESULT, req.verdicts)
        if self.clock.timestamp() < row.ready_at:
            pending = {"requestSerialCode": serial, "status": 0, "result": None}
            return Answer(Envelope.success(pending), ASYNC_RESULT, req.verdicts, serial=serial, async_status=0)
        value = json.loads(row.result) if row.result else None
        if row.status == rules.SUCCEEDED and value is not None:
            # A JSON-encoded string inside data in every profile: XN and WEDS read a string (a Gson
            # ``String result`` fails on an object), JH either; a profile never changes a shape.
            value = dumps(value)
        status = int(row.status)
        data = {"requestSerialCode": serial, "status": status, "result": value}
        return Answer(Envelope.success(data), ASYNC_RESULT, req.verdicts, serial=serial, async_status=status)

    def _query(self, req: checks.Verified, spec: methods.Method, model: WireModel) -> Answer:
        data = model.wire()
        size = int(data.get("pageSize", 50))
        with self.store.read() as conn:
            page = queries.run(queries.QueryContext(conn, req.tenant, self.settings), spec.name, data, size)
        return Answer(Envelope.success(page), QUERY_PAGE, req.verdicts)


def _diagnosis(failures: list[errors.FieldError], notes: list[KeyNote]) -> str:
    """What the diagnostics add to a -1 about the data: the keys that were not read, and why a
    value did not decrypt."""
    parts = [render_key_notes(notes)] if notes else []
    undecrypted = [e.render().removesuffix(e.text) for e in failures if e.kind == "decrypt"]
    if undecrypted:
        parts.append(
            f"{', '.join(undecrypted)} must be AES-256-CBC ciphertext (key = the appsecret, IV = its first 16 "
            "bytes, Base64); the value received does not decrypt under this appsecret (sent as plaintext?)"
        )
    return f" (jzgr: {'; '.join(parts)})" if parts else ""


def _truncating(field_name: str, limit: int, accept: int, inner: Any) -> Any:
    """Defect helper: validate only the first ``limit`` items of lists up to ``accept`` long."""

    def normalise(data: Any) -> Any:
        data = inner(data) if inner else data
        if isinstance(data, dict) and isinstance(data.get(field_name), list) and len(data[field_name]) <= accept:
            return {**data, field_name: data[field_name][:limit]}
        return data

    return normalise


def _clamp_page_size(data: Any) -> Any:
    if isinstance(data, dict) and isinstance(data.get("pageSize"), int) and data["pageSize"] > 50:
        return {**data, "pageSize": 50}
    return data
