"""The platform side's locust user: the vendor systems of one shard uploading their signed,
encrypted ``WorkerAttendance.Add`` batches on the morning's timetable (open loop: each upload is
started when it is due, whatever the earlier ones are doing, and timed from that moment) and polling
``AsyncHandleResult.Query`` for each. Runs in the master's process alone, or in each locust worker,
which gets its plan (shard, sites, model) from the master as a locust message."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
import gevent.pool
from locust import FastHttpUser, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

from loadtests.matcher import Sent
from loadtests.messages import RESULTS_MESSAGE
from loadtests.morning import Batch, Morning, constant_rate, model_json, morning_of, shard, timetable
from loadtests.world import Site
from platform_client import protocol
from platform_client.errors import ClientError, RateLimited, TransportFailed
from platform_client.policy import PollPolicy, RetryPolicy
from standard import envelope
from standard.envelope import AsyncStatus, Envelope

UPLOAD = "WorkerAttendance.Add"
POLL = "AsyncHandleResult.Query"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Plan:
    """What one shard uploads, and how: everything a worker needs, sent as one message."""

    url: str
    model: dict[str, Any]  # Morning's fields (window_start as HH:MM:SS)
    rate: float | None  # uploads/s: the constant-rate mode instead of the morning curve
    duration_s: float | None
    day: str  # the morning replayed, YYYY-MM-DD (Beijing)
    sites: dict[int, dict[str, Any]]  # project index → Site.to_json(), this shard's only
    index: int  # this shard …
    count: int  # … of this many
    start_at: float  # epoch seconds all shards start from (hosts' clocks are assumed in sync)
    in_flight: int  # uploads at once before a due one has to wait (and is late)
    poll: bool
    scenario: str = "platform"

    def morning(self) -> Morning:
        return morning_of(self.model)

    def batches(self) -> list[Batch]:
        m = self.morning()
        mine = shard(m.project_count, self.index, self.count)
        if self.rate is not None and self.duration_s is not None:
            return constant_rate(m, self.rate, self.duration_s, mine)
        return timetable(m, mine)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "sites": {str(k): v for k, v in self.sites.items()}}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Plan:
        return cls(**{**obj, "sites": {int(k): v for k, v in obj["sites"].items()}})


# One outcome per batch, a plain list (it travels back to the master as msgpack):
# [batch index, due, sent, acked or None, error or "", serial or "", final status or None, final at or None, attempts]
Outcome = list[Any]

current: Plan | None = None  # this process's plan (set by the plan message, or by the master itself)
deliver: Callable[[int, list[Outcome]], None] | None = None  # local mode: the master's collector


class VendorFleet(FastHttpUser):
    """The vendor systems of one shard, each signing as its project's tenant."""

    host = "http://127.0.0.1"  # replaced by the plan's platform …
    path = "/open.api"  # … and its open.api
    concurrency = 64  # connections of this user's pool (uploads and polls share it)
    retry = RetryPolicy(deadline=30.0)
    polling = PollPolicy(first_delay=0.5, factor=1.5, max_interval=2.0, deadline=60.0)

    @task
    def morning(self) -> None:
        plan = current
        if plan is None:
            raise StopUser()
        sites = {p: Site.from_json(s) for p, s in plan.sites.items()}
        m = plan.morning()
        day_start = datetime.combine(datetime.strptime(plan.day, "%Y-%m-%d").date(), m.window_start)
        outcomes: list[Outcome] = []
        uploads = gevent.pool.Pool(plan.in_flight)
        polls = gevent.pool.Group()
        try:
            for i, batch in enumerate(plan.batches()):
                due = plan.start_at + batch.send_s
                wait = due - time.time()
                if wait > 0:
                    gevent.sleep(wait)
                outcome: Outcome = [i, due, None, None, "", "", None, None, 0]
                outcomes.append(outcome)
                uploads.spawn(self._upload, outcome, sites[batch.project], batch, day_start, polls, plan.poll)
            uploads.join()
            polls.join()
        finally:  # also when the runner stops this user at its time limit: what is known so far
            uploads.kill(block=False)
            polls.kill(block=False)
            if deliver is not None:
                deliver(plan.index, outcomes)
            elif isinstance(self.environment.runner, WorkerRunner):
                self.environment.runner.send_message(RESULTS_MESSAGE, {"index": plan.index, "outcomes": outcomes})
        raise StopUser()

    def _post(self, site: Site, method: str, text: str) -> Envelope:
        form = protocol.form_for(protocol.Credentials(site.appid, site.secret), method, text)
        with self.client.post(self.path, data=urlencode(form), headers=FORM, name=method, catch_response=True) as resp:
            error = getattr(resp, "error", None) if not resp.status_code else None
            answer = protocol.Answer(resp.status_code or 0, resp.content or b"", error or None)
            if not resp.status_code and error is None:
                answer = protocol.Answer(0, b"", ConnectionError("no answer"))
            try:
                env = protocol.read(method, answer)
            except ClientError as exc:
                resp.failure(str(exc)[:200])
                raise
            resp.success()
            return env

    def _call(self, site: Site, method: str, text: str, outcome: Outcome | None) -> Envelope:
        """Send until a final answer, as the reference client does: transport errors, 5xx and -5
        are retried with a fresh signature, -1…-4 are not."""
        deadline = time.time() + self.retry.deadline
        attempt = 0
        while True:
            if outcome is not None:
                outcome[8] += 1
            try:
                return self._post(site, method, text)
            except (TransportFailed, RateLimited):
                delay = self.retry.delay(attempt)
                if time.time() + delay > deadline:
                    raise
                attempt += 1
                gevent.sleep(delay)

    def _upload(
        self,
        outcome: Outcome,
        site: Site,
        batch: Batch,
        day_start: datetime,
        polls: gevent.pool.Group,
        poll: bool,
    ) -> None:
        outcome[2] = time.time()
        sys_no = site.worker(batch.records[0].worker)[0]
        data = {
            "projectCode": site.project_code,
            "teamSysNo": sys_no,
            "dataList": [
                {
                    "idCardType": "01",
                    "idCardNumber": site.worker(r.worker)[1],
                    "date": (day_start + timedelta(seconds=int(r.moment_s))).strftime("%Y-%m-%d %H:%M:%S"),
                    "direction": "01",
                    "attendType": "001",
                }
                for r in batch.records
            ],
        }
        try:
            env = self._call(site, UPLOAD, protocol.seal(UPLOAD, data, site.secret, validate=False), outcome)
        except ClientError as exc:
            outcome[4] = str(exc)[:300]
            return
        outcome[3] = time.time()
        serial = env.data.get("requestSerialCode") if isinstance(env.data, dict) else None
        outcome[5] = serial or ""
        if poll and serial:
            polls.spawn(self._poll, outcome, site, serial)

    def _poll(self, outcome: Outcome, site: Site, serial: str) -> None:
        text = envelope.dump_data({"requestSerialCode": serial})
        deadline = time.time() + self.polling.deadline
        attempt = 0
        gevent.sleep(self.polling.first_delay)
        while True:
            try:
                env = self._call(site, POLL, text, None)
            except ClientError as exc:
                outcome[4] = f"poll: {str(exc)[:300]}"
                return
            data = env.data if isinstance(env.data, dict) else {}
            status = data.get("status")
            if status in (AsyncStatus.SUCCEEDED, AsyncStatus.FAILED, "20", "10"):
                outcome[6], outcome[7] = int(status), time.time()
                if int(status) == AsyncStatus.FAILED:
                    outcome[4] = f"async result failed: {str(data.get('result'))[:300]}"
                return
            attempt += 1
            delay = self.polling.interval(attempt)
            if time.time() + delay > deadline:
                outcome[4] = f"async result of {serial} still pending after {self.polling.deadline:g} s"
                return
            gevent.sleep(delay)


def adopt(plan: Plan) -> None:
    """Make ``plan`` this process's: the users spawned next upload it."""
    global current
    current = plan
    parts = urlsplit(plan.url)
    VendorFleet.host = f"{parts.scheme}://{parts.netloc}"
    VendorFleet.path = parts.path or "/open.api"
    VendorFleet.concurrency = min(plan.in_flight, 512)


@dataclass
class PlatformScenario:
    """``jzgr load platform`` as a :class:`loadtests.runner.Scenario`: vendor systems → platform."""

    url: str
    m: Morning
    rate: float | None
    duration_s: float | None
    day: str
    sites: dict[int, Site]
    in_flight: int
    poll: bool
    user: type[VendorFleet] = VendorFleet

    def _plan(self, index: int, count: int, start_at: float) -> Plan:
        mine = shard(self.m.project_count, index, count)
        return Plan(
            self.url,
            model_json(self.m),
            self.rate,
            self.duration_s,
            self.day,
            {p: self.sites[p].to_json() for p in mine},
            index,
            count,
            start_at,
            self.in_flight,
            self.poll,
        )

    def plan(self, index: int, count: int, start_at: float) -> dict[str, Any]:
        return self._plan(index, count, start_at).to_json()

    def adopt(self, plan: dict[str, Any], deliver_to: Callable[[int, list[Any]], None] | None) -> None:
        global deliver
        deliver = deliver_to
        adopt(Plan.from_json(plan))

    @cached_property
    def timetable(self) -> list[Batch]:
        """Every upload of the run, all shards together."""
        return self._plan(0, 1, 0.0).batches()

    @property
    def upload_count(self) -> int:
        return len(self.timetable)

    @property
    def expected_s(self) -> float:
        last = max((b.send_s for b in self.timetable), default=0.0)
        return last + VendorFleet.retry.deadline + (VendorFleet.polling.deadline if self.poll else 0.0)

    def sent(self, outcomes: dict[int, list[Outcome]], start_at: float, count: int) -> list[Sent]:
        """Every upload of each of ``count`` shards with its outcome (none when its shard did not report)."""
        out = []
        for index in range(count):
            reported = {o[0]: o for o in outcomes.get(index, [])}
            batches = self._plan(index, count, start_at).batches()
            out += [Sent.of(b, reported.get(i), start_at + b.send_s) for i, b in enumerate(batches)]
        return out
