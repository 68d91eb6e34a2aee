"""Listening hosts (``httpHosts``): where the terminal pushes its events, and the push test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import HOSTS, ROUTES, IsapiError, Request, Response, json_reply, ok, xml_reply
from hardware_sim.isapi.records import HttpHost

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice


_HOST_FIELDS = (
    "id",
    "url",
    "protocolType",
    "parameterFormatType",
    "addressingFormatType",
    "hostName",
    "ipAddress",
    "portNo",
    "httpAuthenticationMethod",
)


def _host_view(host: HttpHost) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": host.id,
        "url": host.url,
        "protocolType": host.protocol_type,
        "parameterFormatType": host.parameter_format_type,
        "addressingFormatType": host.addressing_format_type,
    }
    if host.addressing_format_type.lower() == "hostname":
        view["hostName"] = host.host_name
    else:
        view["ipAddress"] = host.ip_address
    view["portNo"] = host.port_no
    view["httpAuthenticationMethod"] = host.http_authentication_method
    view.update(host.extra)
    return view


def _host_from(d: IsapiDevice, fields: dict[str, Any], default_id: str | None = None) -> HttpHost:
    import ipaddress

    host_id = str(fields.get("id") or default_id or "")
    if not host_id.isdigit() or not 1 <= int(host_id) <= d.fw.max_http_hosts:
        raise IsapiError(m.BAD_XML_CONTENT, f"id must be 1..{d.fw.max_http_hosts}")
    url = str(fields.get("url") or "/")
    if not url.startswith("/"):
        raise IsapiError(m.BAD_XML_CONTENT, "url is the path on the listening host and starts with /")
    protocol = str(fields.get("protocolType") or "HTTP").upper()
    if protocol not in ("HTTP", "HTTPS"):
        raise IsapiError(m.BAD_XML_CONTENT, f"protocolType {protocol!r}")
    fmt = str(fields.get("parameterFormatType") or "XML").upper()
    if fmt not in ("XML", "JSON"):
        raise IsapiError(m.BAD_XML_CONTENT, f"parameterFormatType {fmt!r}")
    addressing = str(fields.get("addressingFormatType") or "ipaddress")
    if addressing.lower() not in ("ipaddress", "hostname"):
        raise IsapiError(m.BAD_XML_CONTENT, f"addressingFormatType {addressing!r}")
    ip, name = str(fields.get("ipAddress") or ""), str(fields.get("hostName") or "")
    if addressing.lower() == "ipaddress":
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise IsapiError(m.BAD_XML_CONTENT, f"ipAddress {ip!r} is not an IP address") from None
    elif not name:
        raise IsapiError(m.BAD_XML_CONTENT, "hostName is required with addressingFormatType hostname")
    try:
        port = int(fields.get("portNo") or 80)
    except (TypeError, ValueError):
        raise IsapiError(m.BAD_XML_CONTENT, "portNo must be a number") from None
    if not 1 <= port <= 65535:
        raise IsapiError(m.BAD_XML_CONTENT, f"portNo {port}")
    extra = {k: v for k, v in fields.items() if k not in _HOST_FIELDS}
    return HttpHost(
        host_id,
        url,
        protocol,
        fmt,
        addressing,
        ip,
        name,
        port,
        str(fields.get("httpAuthenticationMethod") or "none"),
        extra,
    )


def _hosts_in(req: Request, single: bool) -> list[dict[str, Any]]:
    if req.wants_json:
        data = req.json_object()
        if single:
            inner = data.get("HttpHostNotification", data)
            return [inner] if isinstance(inner, dict) else []
        raw = data.get("HttpHostNotificationList", [])
        if isinstance(raw, dict):
            raw = [raw]
        items = raw if isinstance(raw, list) else []
        return [i.get("HttpHostNotification", i) for i in items if isinstance(i, dict)]
    root = req.xml()
    if single:
        if root.tag != "HttpHostNotification":
            raise IsapiError(m.BAD_XML_CONTENT, "the root element must be HttpHostNotification")
        return [m.xml_to_dict(root)]
    if root.tag != "HttpHostNotificationList":
        raise IsapiError(m.BAD_XML_CONTENT, "the root element must be HttpHostNotificationList")
    return [m.xml_to_dict(el) for el in root.findall("HttpHostNotification")]


def _hosts_reply(req: Request, hosts: list[HttpHost]) -> Response:
    views = [_host_view(h) for h in hosts]
    if req.wants_json:
        return json_reply({"HttpHostNotificationList": [{"HttpHostNotification": v} for v in views]})
    return xml_reply(req, "HttpHostNotificationList", {"HttpHostNotification": views})


@ROUTES.handles("GET", HOSTS)
async def hosts_get(req: Request) -> Response:
    return _hosts_reply(req, list(req.device.http_hosts.values()))


@ROUTES.handles("PUT", HOSTS)
async def hosts_put(req: Request) -> Response:
    d = req.device
    items = _hosts_in(req, single=False)
    if len(items) > d.fw.max_http_hosts:
        raise IsapiError(m.BAD_XML_CONTENT, f"at most {d.fw.max_http_hosts} listening hosts")
    hosts = [_host_from(d, fields) for fields in items]
    d.http_hosts = {h.id: h for h in sorted(hosts, key=lambda h: int(h.id))}
    d.hosts_changed()
    d.log("http_hosts", hosts=[_host_view(h) for h in hosts])
    return ok(req)


@ROUTES.handles("GET", rf"{HOSTS}/(\d+)")
async def host_get(req: Request) -> Response:
    host = req.device.http_hosts.get(req.params[0])
    if host is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    if req.wants_json:
        return json_reply({"HttpHostNotification": _host_view(host)})
    return xml_reply(req, "HttpHostNotification", _host_view(host))


@ROUTES.handles("PUT", rf"{HOSTS}/(\d+)")
async def host_put(req: Request) -> Response:
    d = req.device
    items = _hosts_in(req, single=True)
    if not items:
        raise IsapiError(m.BAD_XML_CONTENT, "no HttpHostNotification")
    fields = dict(items[0])
    fields["id"] = req.params[0]
    host = _host_from(d, fields, req.params[0])
    d.http_hosts[host.id] = host
    d.http_hosts = dict(sorted(d.http_hosts.items(), key=lambda kv: int(kv[0])))
    d.hosts_changed()
    d.log("http_hosts", hosts=[_host_view(h) for h in d.http_hosts.values()])
    return ok(req)


@ROUTES.handles("DELETE", rf"{HOSTS}/(\d+)")
async def host_delete(req: Request) -> Response:
    d = req.device
    if d.http_hosts.pop(req.params[0], None) is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    d.hosts_changed()
    return ok(req)


@ROUTES.handles("POST", rf"{HOSTS}/(\d+)/test")
async def host_test(req: Request) -> Response:
    d = req.device
    host = d.http_hosts.get(req.params[0])
    if req.body.strip():
        items = _hosts_in(req, single=True)
        if items:
            host = _host_from(d, {**items[0], "id": req.params[0]}, req.params[0])
    if host is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    good, detail = await d.send_test(host)
    if not good:
        raise IsapiError(m.EVENT_HOST_FAILED, f"test notification to {host.address}:{host.port_no}{host.url}: {detail}")
    if req.wants_json:
        return json_reply({"HttpHostTestResult": {"errorDescription": "ok"}})
    return xml_reply(req, "HttpHostTestResult", {"errorDescription": "ok"})
