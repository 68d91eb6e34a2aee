"""HTTP Digest authentication as the device's web server does it (RFC 7616, ``qop="auth"``).

Fresh nonce on every challenge; ``nc`` must grow per nonce (a replayed count is answered with a
fresh challenge); a nonce expires after ``max_uses`` accepted requests or ``lifetime`` seconds and
is then re-challenged with ``stale="TRUE"`` (the right password is not a failed login); a wrong
response hash or an unknown user counts towards a per-address lockout.

Pure state, no I/O: :meth:`DigestAuthority.check` returns a :class:`Verdict` the app turns into a
response.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal
from urllib.request import parse_http_list

Outcome = Literal["ok", "challenge", "stale", "failed", "locked"]

_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-256-SESS": hashlib.sha256}


@dataclass
class _Nonce:
    created: float
    uses: int = 0
    last_nc: int = 0


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    username: str | None = None
    reason: str = ""
    unlock_in: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def parse_authorization(header: str) -> dict[str, str] | None:
    """``Digest k=v, k="v"`` → dict (keys lower-case); None when it is not a Digest header. The list
    is split by the standard library's RFC 2068 parser (quoted commas and ``\\"`` escapes kept)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    out: dict[str, str] = {}
    for item in parse_http_list(rest):
        key, eq, value = item.partition("=")
        if not eq:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[key.strip().lower()] = value
    return out


class DigestAuthority:
    """One device's users, nonces and lockouts."""

    def __init__(
        self,
        users: dict[str, str],
        *,
        realm: str,
        max_uses: int = 8,
        lifetime: float = 300.0,
        lockout_attempts: int = 7,
        lockout_seconds: float = 1800.0,
        algorithms: tuple[str, ...] = ("MD5",),
        keep_nonces: int = 256,
    ) -> None:
        self.users = users
        self.realm = realm
        self.max_uses = max_uses
        self.lifetime = lifetime
        self.lockout_attempts = lockout_attempts
        self.lockout_seconds = lockout_seconds
        self.algorithms = algorithms
        self.keep_nonces = keep_nonces
        self._nonces: OrderedDict[str, _Nonce] = OrderedDict()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    # -- challenges ----------------------------------------------------------------------------
    def new_nonce(self) -> str:
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = _Nonce(time.monotonic())
        while len(self._nonces) > self.keep_nonces:
            self._nonces.popitem(last=False)
        return nonce

    def challenges(self, *, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values, as in HIK-PBAC §4.3.1: one per offered algorithm, one fresh nonce."""
        nonce = self.new_nonce()
        flag = "TRUE" if stale else "FALSE"
        out = []
        for algorithm in self.algorithms:
            algo = "" if algorithm == "MD5" else f", algorithm={algorithm}"
            out.append(f'Digest qop="auth", realm="{self.realm}", nonce="{nonce}", stale="{flag}"{algo}')
        return out

    def challenge(self, *, stale: bool = False) -> str:
        return self.challenges(stale=stale)[0]

    def locked(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 when not locked)."""
        until = self._locked_until.get(client)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._locked_until[client]
            self._failures.pop(client, None)
            return 0.0
        return left

    def unlock(self, client: str | None = None) -> None:
        if client is None:
            self._locked_until.clear()
            self._failures.clear()
        else:
            self._locked_until.pop(client, None)
            self._failures.pop(client, None)

    # -- verification --------------------------------------------------------------------------
    def check(self, method: str, raw_uri: str, header: str | None, client: str) -> Verdict:
        left = self.locked(client)
        if left > 0:
            return Verdict("locked", reason="locked", unlock_in=left)
        if not header:
            return Verdict("challenge", reason="no credentials")
        fields = parse_authorization(header)
        if fields is None:
            return self._fail(client, None, "not a Digest Authorization header")
        username = fields.get("username", "")
        password = self.users.get(username)
        if password is None:
            return self._fail(client, username, "unknown user")
        need = ("realm", "nonce", "uri", "response")
        if any(k not in fields for k in need):
            return self._fail(client, username, "incomplete Digest header")
        if fields["realm"] != self.realm:
            return self._fail(client, username, "wrong realm")
        algorithm = fields.get("algorithm", "MD5").upper()
        hasher = _HASHES.get(algorithm)
        if hasher is None or algorithm.removesuffix("-SESS") not in {a.upper() for a in self.algorithms}:
            return self._fail(client, username, f"algorithm {algorithm} not offered")
        uri = fields["uri"]
        if uri != raw_uri and uri != raw_uri.split("?", 1)[0]:
            return self._fail(client, username, "uri does not match the request")
        qop = fields.get("qop")
        nonce, cnonce, nc_hex = fields["nonce"], fields.get("cnonce", ""), fields.get("nc", "")

        def h(text: str) -> str:
            return hasher(text.encode("utf-8")).hexdigest()

        ha1 = h(f"{username}:{self.realm}:{password}")
        if algorithm.endswith("-SESS"):
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}")
        if qop == "auth":
            expected = h(f"{ha1}:{nonce}:{nc_hex}:{cnonce}:{qop}:{ha2}")
        elif qop is None:
            return self._fail(client, username, 'qop="auth" is required')
        else:
            return self._fail(client, username, f"qop {qop!r} not offered")
        if not hmac.compare_digest(expected, fields["response"].lower()):
            return self._fail(client, username, "wrong response (password)")
        # the password is right from here on: any nonce trouble is "stale", not a failed login
        try:
            nc = int(nc_hex, 16)
        except ValueError:
            return Verdict("stale", username, reason="bad nc")
        state = self._nonces.get(nonce)
        if state is None:
            return Verdict("stale", username, reason="unknown or expired nonce")
        if self.lifetime and time.monotonic() - state.created > self.lifetime:
            self._nonces.pop(nonce, None)
            return Verdict("stale", username, reason="nonce too old")
        if self.max_uses and state.uses >= self.max_uses:
            self._nonces.pop(nonce, None)
            return Verdict("stale", username, reason=f"nonce used {state.uses} times")
        if nc <= state.last_nc:
            return Verdict("stale", username, reason=f"nc {nc_hex} replayed")
        state.last_nc = nc
        state.uses += 1
        self._failures.pop(client, None)
        return Verdict("ok", username)

    def _fail(self, client: str, username: str | None, reason: str) -> Verdict:
        count = self._failures.get(client, 0) + 1
        self._failures[client] = count
        if self.lockout_attempts and count >= self.lockout_attempts:
            self._locked_until[client] = time.monotonic() + self.lockout_seconds
            return Verdict(
                "locked", username, reason=f"{reason}; locked after {count} failures", unlock_in=self.lockout_seconds
            )
        return Verdict("failed", username, reason=reason)
