"""Request checks in the platform's order, one small function per concern. Each either passes
or raises ``Reject`` with the envelope code, the platform's message and the id of the requirement
it enforces (``standard.requirements``, declared in the table below); the chain (``run``) turns a
received request into a ``Verified`` one, which the write path consumes."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from simulator.clock import Clock
from simulator.config import Settings
from simulator.store import Store
from simulator.tenants import Tenant, TenantRegistry
from standard import crypto, envelope, explainer, methods, signature
from standard.envelope import Code
from standard.requirements import enforced

# What each step enforces, as the inspection log records it: a requirement of the one registry
# (an id it does not have fails here, at import).
PARAMETERS = enforced("REQ-ENV-02")  # every public parameter present
FORMAT = enforced("REQ-ENV-07")  # format=json
NONCE_FORMAT = enforced("REQ-NONCE-02")  # 1 to 128 printable ASCII characters
TIMESTAMP_FORMAT = enforced("REQ-TS-02")  # yyyyMMddHHmmss
APPID = enforced("REQ-ENV-03")  # a known, enabled appid
SIGNATURE = enforced("REQ-SIG-01")  # the sign of §3.1
CORPSIGN = enforced("REQ-SIG-06")  # corpsign for the tenants that must send it
METHOD = enforced("REQ-ENV-04")  # a known method
KEY_MODE = enforced("REQ-PERM-01")  # an enterprise method needs the enterprise key
IP_ALLOWED = enforced("REQ-IP-01")  # the tenant's IP allow-list
RATE = enforced("REQ-RATE-01")  # the tenant's requests per minute
TIMESTAMP_WINDOW = enforced("REQ-TS-01")  # within ±window of the platform clock
NONCE = enforced("REQ-NONCE-01")  # a nonce once per tenant inside the window


class Reject(Exception):
    def __init__(self, code: Code, message: str, check_id: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.check_id = check_id


@dataclass(slots=True)
class Request:
    """A received request as the first checks see it, before its appid is known."""

    form: dict[str, str]
    pairs: list[tuple[str, str]]  # as received, repeated keys included
    client_ip: str
    ts: float  # simulator time of arrival, epoch seconds
    now: datetime  # the same, aware Beijing time
    verdicts: list[tuple[str, str]] = field(default_factory=list)  # (requirement id, "pass" | message)

    def passed(self, check_id: str) -> None:
        self.verdicts.append((check_id, "pass"))


class Identified:
    """A request whose appid names a tenant and whose timestamp parsed: what the later checks see.
    (Plain slots, no properties: built and read on every request.)"""

    __slots__ = ("client_ip", "form", "now", "received", "sent", "tenant")

    def __init__(self, received: Request, sent: datetime, tenant: Tenant) -> None:
        self.received = received
        self.form = received.form
        self.client_ip = received.client_ip
        self.now = received.now
        self.sent = sent  # the request's timestamp parameter (TS-02)
        self.tenant = tenant

    def passed(self, check_id: str) -> None:
        self.received.verdicts.append((check_id, "pass"))

    @property
    def order(self) -> list[str]:
        """Form keys in the order received (for the explainer)."""
        return list(dict.fromkeys(key for key, _ in self.received.pairs))


class Verified(NamedTuple):
    """A request that passed every check: what the write path consumes (typed, never changed; a
    named tuple because it is built for every request, at a fraction of a frozen dataclass's cost)."""

    form: dict[str, str]
    client_ip: str
    ts: float  # simulator time of arrival, epoch seconds
    now: datetime  # the same, aware Beijing time
    tenant: Tenant
    method: methods.Method
    verdicts: list[tuple[str, str]]  # the checks passed, in order (the inspection log's)
    nonce_window: float | None  # seconds the nonce is remembered; None: replays not refused (NONCE-01)


@dataclass
class Context:
    settings: Settings
    clock: Clock
    store: Store
    tenants: TenantRegistry


NONCE_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
BAD_PARAM = "请求参数无效:"


def params_present(ctx: Context, req: Request) -> None:
    """PARAMETERS, FORMAT, NONCE_FORMAT: every public parameter present, non-empty and without NUL
    (sign may be empty only to be refused)."""
    for name in envelope.REQUIRED_PARAMS:
        value = req.form.get(name)
        if not value:
            raise Reject(Code.BAD_PARAMETER, f"{BAD_PARAM}{name}不能为空!", PARAMETERS)
        if "\x00" in value:  # no parameter's value has one; PostgreSQL could not even look it up
            raise Reject(Code.BAD_PARAMETER, f"{BAD_PARAM}{name}无效!", PARAMETERS)
    if req.form["format"].lower() != "json":
        raise Reject(Code.BAD_PARAMETER, f"{BAD_PARAM}format无效!", FORMAT)
    if not NONCE_RE.match(req.form["nonce"]):
        raise Reject(Code.BAD_PARAMETER, f"{BAD_PARAM}nonce无效!", NONCE_FORMAT)
    req.passed(PARAMETERS)


def timestamp_format(ctx: Context, req: Request) -> datetime:
    """TIMESTAMP_FORMAT: yyyyMMddHHmmss."""
    try:
        sent = envelope.parse_timestamp(req.form["timestamp"])
    except ValueError:
        raise Reject(
            Code.BAD_PARAMETER, f"{BAD_PARAM}timestamp格式不正确,应为yyyyMMddHHmmss!", TIMESTAMP_FORMAT
        ) from None
    req.passed(TIMESTAMP_FORMAT)
    return sent


def appid_known(ctx: Context, req: Request) -> Tenant:
    """APPID: 请求参数无效:appid无效!"""
    tenant = ctx.tenants.get(req.form["appid"])
    if tenant is None or tenant.disabled:
        raise Reject(Code.BAD_PARAMETER, "请求参数无效:appid无效!", APPID)
    req.passed(APPID)
    return tenant


def signature_valid(ctx: Context, req: Identified) -> None:
    """SIGNATURE: the sign; on mismatch the explainer's sentence when the tenant has diagnostics on."""
    if ctx.settings.defect("accept-bad-signature") or signature.verify(req.form, req.tenant.appsecret):
        req.passed(SIGNATURE)
        return
    message = envelope.CODE_MESSAGES[Code.BAD_SIGNATURE]
    if ctx.settings.diagnostics and req.tenant.diagnostics:
        others = {"the previous secret": req.tenant.previous_secret} if req.tenant.previous_secret else {}
        if req.tenant.corpKey:
            others["the corpKey"] = req.tenant.corpKey
        found = explainer.explain(
            req.form, req.tenant.appsecret, order=req.order, other_secrets=others, max_permutations=5040
        )
        message = f"{message}: {found.sentence}"
    raise Reject(Code.BAD_SIGNATURE, message, SIGNATURE)


def corpsign_valid(ctx: Context, req: Identified) -> None:
    """CORPSIGN: corpsign present for tenants that require it, and = AES(corpKey + timestamp)."""
    sent = req.form.get("corpsign")
    if not req.tenant.require_corpsign and not sent:
        return
    if not sent:
        raise Reject(Code.BAD_SIGNATURE, "签名校验错误: corpsign不能为空!", CORPSIGN)
    if req.tenant.corpKey:
        expected = crypto.corpsign(req.tenant.corpKey, req.form["timestamp"], req.tenant.appsecret)
        if sent != expected:
            raise Reject(Code.BAD_SIGNATURE, "签名校验错误: corpsign无效!", CORPSIGN)
    req.passed(CORPSIGN)


def method_allowed(ctx: Context, req: Identified) -> methods.Method:
    """METHOD, KEY_MODE: a known method the tenant's key mode may call."""
    spec = methods.get(req.form["method"])
    if spec is None:
        raise Reject(Code.BAD_PARAMETER, f"{BAD_PARAM}method无效!", METHOD)
    if spec.key_mode == "enterprise" and req.tenant.mode != "enterprise":
        raise Reject(Code.NO_PERMISSION, f"无API访问权限:{spec.name}需要企业密钥!", KEY_MODE)
    req.passed(METHOD)
    return spec


def _ip_in(ip: str, allowed: list[str]) -> bool:
    """Entries are addresses or networks (``10.0.0.0/8``)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def ip_allowed(ctx: Context, req: Identified) -> None:
    """IP_ALLOWED: the tenant's allow-list, when configured."""
    if req.tenant.ip_allow and not _ip_in(req.client_ip, req.tenant.ip_allow):
        raise Reject(Code.BAD_IP, f"IP校验错误:{req.client_ip}不在白名单中!", IP_ALLOWED)
    req.passed(IP_ALLOWED)


def rate_limited(ctx: Context, req: Identified) -> None:
    """RATE: requests per minute per tenant, shared across workers through the database."""
    if req.tenant.rate_limit is None:
        return
    window = int(ctx.clock.timestamp() // 60)
    if ctx.store.hit(req.tenant.appid, window) > req.tenant.rate_limit:
        raise Reject(Code.RATE_LIMITED, "访问超过限制!", RATE)
    req.passed(RATE)


def timestamp_window(ctx: Context, req: Identified) -> None:
    """TIMESTAMP_WINDOW: the timestamp within ±window of the platform clock (switchable)."""
    window = ctx.settings.timestamp_window
    if window is None or ctx.settings.defect("ignore-timestamp-window"):
        return
    skew = (req.sent - req.now).total_seconds()
    if abs(skew) > window:
        message = f"{BAD_PARAM}timestamp已过期,与服务器时间相差超过{int(window // 60)}分钟!"
        if ctx.settings.diagnostics and req.tenant.diagnostics:
            message += f" (jzgr: {skew_diagnosis(req.sent, req.now, window)})"
        raise Reject(Code.BAD_PARAMETER, message, TIMESTAMP_WINDOW)
    req.passed(TIMESTAMP_WINDOW)


HOUR = 3600


def _span(seconds: float) -> str:
    """``8 h``, ``12 min 5 s``, ``2 d 3 h``: the offset in the units a reader checks a clock by."""
    s = round(abs(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, HOUR)
    minutes, s = divmod(s, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (s, "s")) if n]
    return " ".join(parts[:2]) or "0 s"


def skew_diagnosis(sent: datetime, now: datetime, window: float) -> str:
    """Why a timestamp is out of the window: the platform's Beijing time, the time received and the
    offset, read as a time-zone mistake when it is (nearly) a whole number of hours. In whole
    seconds, as both times are shown."""
    now = now.replace(microsecond=0)
    skew = (sent - now).total_seconds()
    hours = round(skew / HOUR)
    side = "behind" if skew < 0 else "ahead"
    zone_mistake = -20 <= hours <= 6 and hours != 0  # a sender in one of UTC-12 … UTC+14
    if zone_mistake and abs(skew - hours * HOUR) <= window:
        offset = f"{abs(hours)} h {side}"
        if hours == -8:
            hint = "is your system sending UTC? The timestamp is Beijing time (UTC+8) whatever the host's zone"
        else:
            hint = f"is the timestamp in UTC{8 + hours:+d} rather than Beijing time (UTC+8)?"
    else:
        offset = f"{_span(skew)} {side}"
        hint = "the client's clock is off; synchronise it (NTP)"
    return (
        f"platform time {now:%Y-%m-%d %H:%M:%S} Beijing, timestamp received {sent:%Y-%m-%d %H:%M:%S}: {offset}: {hint}"
    )


def nonce_fresh(ctx: Context, req: Identified) -> float | None:
    """NONCE: a nonce is accepted once per tenant inside the window (switchable): the window to
    remember it for, or None. Whether it is a replay is decided by the write path
    (``writer.Writer.claim_nonce``), in the transaction that remembers it."""
    window = ctx.settings.nonce_window
    if window is None or ctx.settings.defect("accept-replayed-nonce"):
        return None
    return window


REPLAYED = f"{BAD_PARAM}nonce重复,请求已被处理!"


def run(ctx: Context, req: Request) -> Verified:
    """The checks in the platform's order: parameters (-1), appid (-1), signature (-2),
    permission (-3), IP (-4), rate (-5); the replay check runs last so that only authentic
    requests consume a nonce. Raises ``Reject`` at the first that fails."""
    params_present(ctx, req)
    sent = timestamp_format(ctx, req)
    tenant = appid_known(ctx, req)
    identified = Identified(req, sent, tenant)
    signature_valid(ctx, identified)
    corpsign_valid(ctx, identified)
    method = method_allowed(ctx, identified)
    ip_allowed(ctx, identified)
    rate_limited(ctx, identified)
    timestamp_window(ctx, identified)
    window = nonce_fresh(ctx, identified)
    return Verified(req.form, req.client_ip, req.ts, req.now, tenant, method, req.verdicts, window)


# The steps in the order ``run`` calls them, and the requirements each enforces
# (tests/test_requirements.py holds every id a step rejects or passes with to its row here).
CHAIN = (
    params_present,
    timestamp_format,
    appid_known,
    signature_valid,
    corpsign_valid,
    method_allowed,
    ip_allowed,
    rate_limited,
    timestamp_window,
    nonce_fresh,
)
ENFORCES: dict[Callable[..., object], tuple[str, ...]] = {
    params_present: (PARAMETERS, FORMAT, NONCE_FORMAT),
    timestamp_format: (TIMESTAMP_FORMAT,),
    appid_known: (APPID,),
    signature_valid: (SIGNATURE,),
    corpsign_valid: (CORPSIGN,),
    method_allowed: (METHOD, KEY_MODE),
    ip_allowed: (IP_ALLOWED,),
    rate_limited: (RATE,),
    timestamp_window: (TIMESTAMP_WINDOW,),
    nonce_fresh: (NONCE,),
}
