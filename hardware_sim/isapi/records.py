"""The state a vendor issues to an ISAPI terminal, as records: cards, face libraries and their
pictures, listening hosts, and the pending bulk delete. The device holds them; the resources change them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class CardRecord:
    card_no: str
    employee_no: str
    card_type: str = "normalCard"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaceRecord:
    fpid: str
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaceLib:
    """A face library. FDID "1" (visible light) keeps its pictures in ``Enrolled.face``; others here."""

    fdid: str
    face_lib_type: str = "blackFD"
    name: str = ""
    custom_info: str = ""
    records: dict[str, FaceRecord] = field(default_factory=dict)


@dataclass
class HttpHost:
    """One ``HttpHostNotification`` (listening host) as configured by the vendor."""

    id: str
    url: str = "/"
    protocol_type: str = "HTTP"
    parameter_format_type: str = "JSON"
    addressing_format_type: str = "ipaddress"
    ip_address: str = ""
    host_name: str = ""
    port_no: int = 80
    http_authentication_method: str = "none"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_url(cls, host_id: str, endpoint: str) -> HttpHost:
        """The listening host that pushes to ``endpoint`` (an http:// or https:// URL)."""
        url = urlsplit(endpoint)
        scheme = url.scheme.lower()
        host = url.hostname or ""
        try:
            ipaddress.ip_address(host)
            by_name = False
        except ValueError:
            by_name = True
        return cls(
            id=host_id,
            url=(url.path or "/") + (f"?{url.query}" if url.query else ""),
            protocol_type="HTTPS" if scheme == "https" else "HTTP",
            parameter_format_type="JSON",
            addressing_format_type="hostname" if by_name else "ipaddress",
            ip_address="" if by_name else host,
            host_name=host if by_name else "",
            port_no=url.port or (443 if scheme == "https" else 80),
        )

    @property
    def address(self) -> str:
        return self.host_name if self.addressing_format_type.lower() == "hostname" else self.ip_address


@dataclass
class DeleteJob:
    mode: str
    employee_nos: list[str] | None
    due: float
    applied: bool = False
    failed: bool = False
