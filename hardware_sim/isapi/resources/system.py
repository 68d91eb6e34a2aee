"""System resources of the terminal: activation, identity, time and NTP, reboot, the door."""

from __future__ import annotations

import asyncio

from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import AC, ROUTES, IsapiError, Request, Response, ok, parse_time, xml_reply


@ROUTES.handles("GET", "/SDK/activateStatus", auth=False)
async def activate_status(req: Request) -> Response:
    return xml_reply(req, "ActivateStatus", {"Activated": True})


@ROUTES.handles("GET", "/ISAPI/Security/userCheck")
async def user_check(req: Request) -> Response:
    return xml_reply(
        req,
        "userCheck",
        {"statusValue": 200, "statusString": "OK", "isDefaultPassword": False, "isRiskPassword": False},
    )


@ROUTES.handles("GET", "/ISAPI/System/deviceInfo")
async def device_info(req: Request) -> Response:
    d = req.device
    fw = d.fw
    return xml_reply(
        req,
        "DeviceInfo",
        {
            "deviceName": d.identity.device_name,
            "deviceID": d.uuid,
            "deviceDescription": fw.device_description,
            "deviceLocation": "hangzhou",
            "model": fw.model,
            "serialNumber": d.serial_number,
            "macAddress": d.identity.mac,
            "firmwareVersion": fw.firmware_version,
            "firmwareReleasedDate": fw.firmware_build,
            "encoderVersion": "V2.0",
            "encoderReleasedDate": fw.firmware_build,
            "deviceType": "ACS",
            "subDeviceType": "accessControlTerminal",
            "telecontrolID": 255,
            "localZoneNum": 2,
            "alarmOutNum": 2,
            "electroLockNum": 1,
            "RS485Num": 1,
            "manufacturer": "hikvision",
            "OEMCode": 1,
            "marketType": 1,
        },
    )


@ROUTES.handles("GET", "/ISAPI/System/time")
async def get_time(req: Request) -> Response:
    d = req.device
    return xml_reply(req, "Time", {"timeMode": d.time_mode, "localTime": m.iso(d.clock.now()), "timeZone": d.time_zone})


@ROUTES.handles("PUT", "/ISAPI/System/time")
async def put_time(req: Request) -> Response:
    d = req.device
    root = req.xml()
    if root.tag != "Time":
        raise IsapiError(m.BAD_XML_CONTENT, "the root element must be Time")
    mode = m.xml_text(root, "timeMode", "manual")
    if mode not in ("manual", "NTP"):
        raise IsapiError(m.BAD_XML_CONTENT, f"timeMode {mode!r}")
    zone = m.xml_text(root, "timeZone", d.time_zone)
    local_time = m.xml_text(root, "localTime")
    if mode == "manual":
        if not local_time:
            raise IsapiError(m.BAD_XML_CONTENT, "localTime is required in manual mode")
        try:
            when = parse_time(local_time, "localTime")
        except IsapiError as exc:
            raise IsapiError(m.BAD_XML_CONTENT, exc.detail) from None
        before = d.clock.now()
        d.clock.set(when)
        d.log("time_set", before=before.isoformat(), after=d.clock.now().isoformat(), zone=zone)
    d.time_mode, d.time_zone = mode, zone
    return ok(req)


@ROUTES.handles("GET", "/ISAPI/System/time/ntpServers")
async def get_ntp(req: Request) -> Response:
    servers = req.device.ntp_servers or [
        {"id": 1, "addressingFormatType": "ipaddress", "ipAddress": "0.0.0.0", "portNo": 123, "synchronizeInterval": 60}
    ]
    return xml_reply(req, "NTPServerList", {"NTPServer": servers})


@ROUTES.handles("PUT", "/ISAPI/System/time/ntpServers")
async def put_ntp(req: Request) -> Response:
    root = req.xml()
    servers = [m.xml_to_dict(el) for el in root.iter("NTPServer")]
    req.device.ntp_servers = servers
    return ok(req)


@ROUTES.handles("GET", "/ISAPI/System/capabilities")
async def system_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return xml_reply(
        req,
        "DeviceCap",
        {
            "SysCap": {"isSupportDst": True, "NetworkCap": {"isSupportWireless": False}},
            "EventCap": {"isSupportHttpHostNotification": True},
            "isSupportSubscribeEvent": True,
            "isSupportIDCardInfoEvent": fw.has_id_card_reader,
            "isSupportAcsUpdate": True,
            "isSupportFDLib": True,
            "isSupportUserInfo": True,
        },
    )


@ROUTES.handles("PUT", "/ISAPI/System/reboot")
async def reboot(req: Request) -> Response:
    resp = ok(req)
    # after the answer has left: powering off resets the device's connections, this one included
    asyncio.get_running_loop().call_later(0.05, req.device.reboot, 1.0)
    resp.headers.append((b"connection", b"close"))
    return resp


@ROUTES.handles("PUT", rf"{AC}/RemoteControl/door/(\d+)")
async def remote_door(req: Request) -> Response:
    root = req.xml()
    cmd = m.xml_text(root, "cmd")
    if cmd not in ("open", "close", "alwaysOpen", "alwaysClose", "resume"):
        raise IsapiError(m.BAD_XML_CONTENT, f"cmd {cmd!r}")
    req.device.doors_opened += cmd == "open"
    req.device.log("door", door=req.params[0], cmd=cmd)
    return ok(req)
