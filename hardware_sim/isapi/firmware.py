"""Firmware profiles: every per-model difference and every behaviour the sources are unsure about.

Labels in the comments follow ``devices.md`` §1.1: [H] vendor text or many captures, [M] one
integration or an inferred pattern, [L] background knowledge or a guess — a setting precisely because
it may be wrong for a given real device. Strings marked *made up* are plausible device wording that no
source confirms (``devices.md`` §12 lists them as open items); vendors should match on ``statusCode``
rather than on them.

A profile is frozen; derive a variant with :meth:`Firmware.derive` (``DS_K1T671TMFW.derive(face_capacity=2)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

EventFormat = Literal["json", "xml", "host"]
UnauthorizedBody = Literal["envelope", "html"]


@dataclass(frozen=True)
class DeviceError:
    """One ISAPI error: ``statusCode`` (its first hex digit repeats in ``errorCode``), the strings, the HTTP status."""

    status_code: int
    sub_status_code: str
    error_code: int
    http_status: int = 400
    message: str = ""


# The one table from the gate's verdict (hardware_sim.recognition.Verdict) to the minor code
# (subEventType); major is always 5 (event) [H]. devices.md §2.6 names no face-specific code for
# "outside validity" or "blocklisted": OUTSIDE_VALIDITY_MINOR and BLOCKLIST_MINOR are the card and
# ID-card codes the text does give, used for every credential until a capture says otherwise.
OUTSIDE_VALIDITY_MINOR = 8  # 0x08 card out of validity, "permission expired" [M]
BLOCKLIST_MINOR = 113  # 0x71 MINOR_CERTIFICATE_BLACK_LIST, "ID card on the blocklist" [M for faces and cards]
DEFAULT_EVENT_CODES: Mapping[str, int] = MappingProxyType(
    {
        "face_pass": 75,  # 0x4b MINOR_FACE_VERIFY_PASS [H]
        "stranger": 76,  # 0x4c MINOR_FACE_VERIFY_FAIL, stranger captures are 5/76 without employeeNoString [M]
        "liveness_fail": 104,  # 0x68 MINOR_HUMAN_DETECT_FAIL [H]
        "card_pass": 1,  # 0x01 MINOR_LEGAL_CARD_PASS; some firmware reports 38 instead [M]
        "card_unknown": 9,  # 0x09 MINOR_INVALID_CARD [H]
        "id_card": 105,  # 0x69 MINOR_PEOPLE_AND_ID_CARD_COMPARE_PASS [M]
        "outside_validity": OUTSIDE_VALIDITY_MINOR,
        "blocklisted": BLOCKLIST_MINOR,
    }
)


@dataclass(frozen=True)
class Firmware:
    # -- identity ------------------------------------------------------------------------------
    name: str
    model: str
    firmware_version: str = "V3.2.30"
    firmware_build: str = "build 230815"
    device_description: str = "Access Controller"
    xml_namespace: str = "http://www.isapi.org/ver20/XMLSchema"
    server_header: str = "webserver"  # [L] what the embedded web server calls itself
    # -- capacities [M, HIK-PROD] ---------------------------------------------------------------
    face_capacity: int = 50_000  # FDRecordDataMaxNum, per face library
    user_capacity: int = 50_000
    card_capacity: int = 50_000
    cards_per_person: int = 5  # [H] HIK-PBAC §9.7; 255 means unlimited
    face_libraries: int = 2  # FDMaxNum; FDID 1 visible light, FDID 2 infrared on deepMode devices [H]
    max_http_hosts: int = 2  # [L]
    event_log_capacity: int = 150_000  # AcsEvent history kept per device [L]
    picture_log_capacity: int = 1_000  # pictures kept for AcsEvent pictureURL [L]
    # -- search page sizes (maxResults is silently capped) [L] ---------------------------------
    user_search_max: int = 30
    card_search_max: int = 30
    face_search_max: int = 30
    acs_event_search_max: int = 30
    acs_event_serial_filter: bool = True  # AcsEventCond beginSerialNo/endSerialNo honoured [L]
    # -- authentication ------------------------------------------------------------------------
    realm: str = "IP Camera(C2183)"  # [H] the reference challenge in HIK-PBAC §4.3.1; real realms vary [L]
    digest_algorithms: tuple[str, ...] = ("MD5",)  # what devices offer [H]; "SHA-256" also verifiable
    nonce_max_uses: int = 8  # requests per nonce before a stale="TRUE" re-challenge [M]; 0 = unlimited
    nonce_lifetime_s: float = 300.0  # [L]
    keep_alive_header: str = "timeout=10, max=99"  # [H]
    lockout_attempts: int = 7  # failed logins from one client address before a lock [L]; 0 disables
    lockout_seconds: float = 1800.0  # [L]
    unauthorized_body: UnauthorizedBody = "envelope"  # or the web server's HTML error page [L]
    require_format_json: bool = True  # JSON resources without ?format=json are parsed as XML and fail [L]
    # -- persons -------------------------------------------------------------------------------
    # duplicate employeeNo on UserInfo/Record: sources disagree [M/L]
    duplicate_person: DeviceError = DeviceError(6, "deviceUserAlreadyExist", 0x60000052, 400)  # errorCode made up
    person_not_found: DeviceError = DeviceError(6, "employeeNoNotExist", 0x60000053, 400)  # made up
    person_capacity_full: DeviceError = DeviceError(6, "deviceUserFull", 0x60000054, 400)  # made up
    delete_process_s: float = 0.3  # how long DeleteProcess reports "processing" [L]
    delete_reports_percent: bool = True  # some models add "percent" [M]
    # -- cards ---------------------------------------------------------------------------------
    duplicate_card: DeviceError = DeviceError(6, "cardNoAlreadyExist", 0x60000055, 400)  # made up
    card_not_found: DeviceError = DeviceError(6, "cardNoNotExist", 0x60000056, 400)  # made up
    cards_per_person_full: DeviceError = DeviceError(6, "cardNumPerPersonExceed", 0x60000057, 400)  # made up
    # -- faces ---------------------------------------------------------------------------------
    face_requires_person: bool = True  # HIK-PBAC §9.11 precondition [H]; enforced as an error here [L]
    face_lib_types: tuple[str, ...] = ("blackFD", "staticFD", "normalFD")  # normalFD seen in a few integrations
    max_face_bytes: int = 200 * 1024  # [L] "larger than about 200 KB"
    min_face_pixels: int = 80  # shorter JPEG side below this fails [L]
    face_model_failure_rate: float = 0.0  # share of good JPEGs that still fail modelling [L]
    face_enrol_delay_s: float = 0.0  # modelling latency per face [L]
    strict_multipart: bool = False  # reject image parts without their own Content-Length (a firmware quirk) [M]
    accept_face_url: bool = True  # faceURL: the device downloads the picture itself [H]
    face_capacity_full: DeviceError = DeviceError(6, "FDLibFull", 0x6000005A, 400)  # made up (devices.md §12)
    face_too_large: DeviceError = DeviceError(6, "faceImageSizeExceedLimit", 0x6000005B, 400)  # made up
    face_not_jpeg: DeviceError = DeviceError(6, "invalidFaceImageFormat", 0x6000005C, 400)  # made up
    face_too_small: DeviceError = DeviceError(6, "faceImageResolutionTooLow", 0x6000005D, 400)  # made up
    face_model_failed: DeviceError = DeviceError(6, "faceModelingFailed", 0x6000005E, 400)  # made up
    face_exists: DeviceError = DeviceError(6, "FPIDAlreadyExist", 0x6000005F, 400)  # made up
    face_not_found: DeviceError = DeviceError(6, "FPIDNotExist", 0x60000060, 400)  # made up
    face_url_failed: DeviceError = DeviceError(6, "downloadPictureFailed", 0x60000061, 400)  # made up
    # -- events --------------------------------------------------------------------------------
    event_format: EventFormat = "json"  # "json" even when the host asked for XML [M]; "host" follows it
    event_part_name: str = "event_log"  # [M] most DS-K1T firmware; one names it AccessControllerEvent
    picture_part_name: str = "Picture"  # [L] varies by firmware (devices.md §12)
    multipart_boundary: str = "MIME_boundary"  # [H, HIK-CAP]
    multipart_without_picture: bool = False  # False: an event without a picture is a bare JSON body [H]
    event_codes: Mapping[str, int] = field(default_factory=lambda: DEFAULT_EVENT_CODES)
    verify_mode: str = "cardOrFace"  # currentVerifyMode [H for the field, L for the value]
    attendance_status: bool = True  # checkIn/checkOut from the device's direction; False sends "undefined"
    include_front_serial_no: bool = True
    liveness_fail_names_person: bool = False  # a failed liveness check identifies nobody [L]
    include_device_id: bool = False  # "sometimes deviceID" in the outer envelope [M]
    include_helmet: bool = False  # helmet-detecting firmware [M]
    push_timeout_s: float = 5.0  # read timeout for the listening host's answer [L]
    hold_events_without_host: bool = True  # with no httpHost configured, keep events buffered [L]
    test_event_type: str = "heartBeat"  # what httpHosts/<id>/test sends [L]
    dns_enabled: bool = True  # hostName addressing fails without DNS [M]
    has_id_card_reader: bool = False  # isSupportIDCardInfoEvent [M]
    deep_mode: bool = False  # FDID 2 infrared library [H]

    def derive(self, **changes: Any) -> Firmware:
        return dataclasses.replace(self, **changes)

    def minor(self, kind: str) -> int:
        return int(self.event_codes.get(kind, DEFAULT_EVENT_CODES.get(kind, 0)))


DS_K1T671TMFW = Firmware(
    name="DS-K1T671TMFW",
    model="DS-K1T671TMFW",
    firmware_version="V3.2.30",
    firmware_build="build 230815",
    face_capacity=50_000,
    user_capacity=50_000,
    card_capacity=50_000,
    has_id_card_reader=True,  # the capability change log names DS-K1T671 [M]
    include_helmet=False,
)

DS_K1T670MX_QR = Firmware(
    name="DS-K1T670MX-QR",
    model="DS-K1T670MX-QR",
    firmware_version="V3.1.62",
    firmware_build="build 220610",
    face_capacity=6_000,
    user_capacity=10_000,
    card_capacity=10_000,
    # the ISAPI mock's strings [SIM]: 1610637344 = 0x60006020
    duplicate_person=DeviceError(6, "employeeNoAlreadyExist", 0x60006020, 400),
)

DS_K1T321 = Firmware(
    name="DS-K1T321",
    model="DS-K1T321MFWX",
    firmware_version="V3.0.10",
    firmware_build="build 210305",
    face_capacity=500,
    user_capacity=500,
    card_capacity=1_000,
    user_search_max=10,
    face_search_max=10,
    acs_event_search_max=24,
    event_part_name="AccessControllerEvent",  # the one firmware that names the JSON part after the event [M]
    picture_part_name="FaceImage",  # [L]
    strict_multipart=True,  # older firmware: the per-part Content-Length quirk [M]
    event_codes=MappingProxyType({**DEFAULT_EVENT_CODES, "card_pass": 38}),  # cards as 5/38 on some devices [M]
    nonce_max_uses=8,
    lockout_attempts=5,
    lockout_seconds=600.0,
)

PROFILES: dict[str, Firmware] = {p.name: p for p in (DS_K1T671TMFW, DS_K1T670MX_QR, DS_K1T321)}
DEFAULT = DS_K1T671TMFW


def profile(which: Firmware | str | None) -> Firmware:
    """A profile by name (case-insensitive, model names accepted) or the profile itself."""
    if which is None:
        return DEFAULT
    if isinstance(which, Firmware):
        return which
    wanted = which.strip().upper()
    for p in PROFILES.values():
        if wanted in (p.name.upper(), p.model.upper()):
            return p
    raise ValueError(f"unknown ISAPI firmware profile {which!r}; known: {', '.join(PROFILES)}")
