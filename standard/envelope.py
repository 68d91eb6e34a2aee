"""Public parameters, the response envelope, codes, async statuses and ``requestSerialCode``
(interface.md §2, §5, §6)."""

from __future__ import annotations

import enum
import json
import json.encoder
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from standard import crypto, signature

BEIJING = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
TIMESTAMP_RE = re.compile(r"\A[0-9]{14}\Z")


def _compact_encoder() -> Callable[[Any], str]:
    """Compact JSON with UTF-8 text kept, as the platform writes it. Built once: ``json.dumps``
    with options builds an encoder per call, and ``JSONEncoder.encode`` builds the C encoder per
    call, which together cost more than encoding a small answer. The C encoder is made once here
    (without the cycle check: our values are trees); without the accelerator, the plain encoder."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)  # CPython's accelerator, not in typeshed
    if make is None:
        return plain.encode
    c_encode = make(None, plain.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(c_encode(value, 0))


compact_json = _compact_encoder()
PUBLIC_PARAMS: tuple[str, ...] = (
    "appid",
    "method",
    "version",
    "format",
    "timestamp",
    "nonce",
    "data",
    "sign",
)
REQUIRED_PARAMS: tuple[str, ...] = PUBLIC_PARAMS


class Code(enum.IntEnum):
    """Envelope ``code`` values (§5.2)."""

    OK = 0
    BAD_PARAMETER = -1
    BAD_SIGNATURE = -2
    NO_PERMISSION = -3
    BAD_IP = -4
    RATE_LIMITED = -5
    ERROR = 9999


CODE_MESSAGES: dict[Code, str] = {
    Code.OK: "成功",
    Code.BAD_PARAMETER: "请求参数错误",
    Code.BAD_SIGNATURE: "签名校验错误",
    Code.NO_PERMISSION: "无API访问权限",
    Code.BAD_IP: "IP校验错误",
    Code.RATE_LIMITED: "访问超过限制",
    Code.ERROR: "错误",
}
NON_RETRYABLE_CODES = frozenset({Code.BAD_PARAMETER, Code.BAD_SIGNATURE, Code.NO_PERMISSION, Code.BAD_IP})


class AsyncStatus(enum.IntEnum):
    """``AsyncHandleResult.Query`` status (§6.2)."""

    PENDING = 0
    FAILED = 10
    SUCCEEDED = 20


def now_beijing() -> datetime:
    return datetime.now(BEIJING)


def today_beijing() -> date:
    """The platform's calendar day, whatever the host's zone (the default "today" of generators)."""
    return datetime.now(BEIJING).date()


def format_timestamp(moment: datetime | None = None) -> str:
    moment = moment or now_beijing()
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: str) -> datetime:
    """Parse ``yyyyMMddHHmmss`` as Beijing time; ValueError when malformed."""
    if not TIMESTAMP_RE.match(value):
        raise ValueError("timestamp must be yyyyMMddHHmmss")
    # int slices, not strptime: this runs twice per request on the platform's hot path
    v = value
    return datetime(int(v[:4]), int(v[4:6]), int(v[6:8]), int(v[8:10]), int(v[10:12]), int(v[12:14]), tzinfo=BEIJING)


def new_nonce() -> str:
    return secrets.token_hex(16)


def dump_data(data: Any) -> str:
    """Serialise ``data`` the way the reference client sends it: compact JSON, UTF-8 text kept."""
    if isinstance(data, str):
        return data
    return compact_json(data)


def build_request(
    method: str,
    data: Any,
    *,
    appid: str,
    secret: str,
    corp_key: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    version: str = "1.0",
    fmt: str = "json",
) -> dict[str, str]:
    """Build the signed form parameters of one request. ``data`` must already carry ciphertext
    in its encrypted fields (see ``standard.payload``)."""
    params = {
        "appid": appid,
        "method": method,
        "version": version,
        "format": fmt,
        "timestamp": timestamp or format_timestamp(),
        "nonce": nonce or new_nonce(),
        "data": dump_data(data),
    }
    if corp_key is not None:
        params["corpsign"] = crypto.corpsign(corp_key, params["timestamp"], secret)
    params["sign"] = signature.compute_sign(params, secret)
    return params


@dataclass(frozen=True)
class Envelope:
    """``{code, message, data}`` (§5.1)."""

    code: int
    message: str
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.code == Code.OK

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}

    def to_bytes(self) -> bytes:
        """The answer's body as the platform sends it."""
        return compact_json(self.to_json()).encode()

    @classmethod
    def from_json(cls, obj: Any) -> Envelope:
        if not isinstance(obj, dict) or "code" not in obj:
            raise ValueError("not a platform envelope: expected an object with 'code'")
        code = obj["code"]
        if isinstance(code, str) and re.fullmatch(r"-?\d+", code):
            code = int(code)
        if not isinstance(code, int):
            raise ValueError("envelope 'code' is not an integer")
        message = obj.get("message", obj.get("msg", ""))
        return cls(code=code, message="" if message is None else str(message), data=obj.get("data"))

    @classmethod
    def success(cls, data: Any = None) -> Envelope:
        return cls(int(Code.OK), CODE_MESSAGES[Code.OK], data)

    @classmethod
    def error(cls, code: Code, detail: str | None = None) -> Envelope:
        return cls(int(code), detail or CODE_MESSAGES[code], None)


# requestSerialCode prefixes (§6.3); "workderattendance" is the server's own spelling.
SERIAL_ENTITY: dict[str, str] = {
    "Corp": "corp",
    "Project": "project",
    "ProjectSubContractor": "subcontractor",
    "Team": "team",
    "ProjectWorker": "projectworker",
    "WorkerEntryExit": "workerentryexit",
    "WorkerContract": "workercontract",
    "WorkerAttendance": "workderattendance",
    "Payroll": "payroll",
    "ProjectTraining": "projecttraining",
}
SERIAL_RE = re.compile(r"^[a-z]+-[a-z]+-\d{10}-\d+-\d{4}$")


def request_serial_code(method: str, moment: datetime, sequence: int, node: int = 1) -> str:
    """``<entity>-<op>-<yyyyMMddHH>-<n>-<4-digit sequence>``, lowercase."""
    entity, _, op = method.partition(".")
    prefix = SERIAL_ENTITY.get(entity, entity.lower())
    b = moment if moment.tzinfo is BEIJING else moment.astimezone(BEIJING)
    return f"{prefix}-{op.lower()}-{b.year:04d}{b.month:02d}{b.day:02d}{b.hour:02d}-{node}-{sequence % 10000:04d}"
