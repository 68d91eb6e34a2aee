"""The SAM module's answer to ``SDT_ReadBaseMsg``: the framed text block and photo, built and parsed."""

from __future__ import annotations

from dataclasses import dataclass

from hardware_sim.idreader import photo as photo_mod
from hardware_sim.idreader.chip import encode
from hardware_sim.idreader.layouts import CardDataError
from hardware_sim.idreader.models import Card

SAM_PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
SW_OK = b"\x00\x00\x90"
SW_FIND_OK = b"\x00\x00\x9f"


@dataclass(frozen=True)
class SamFrame:
    sw: bytes
    text: bytes
    photo: bytes
    fingerprint: bytes


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def sam_frame(card: Card, *, fingerprint: bytes | None = None, sw: bytes = SW_OK) -> bytes:
    """The SAM's answer to a read: ``AA AA AA 96 69``, 2-byte length (big-endian, counting everything
    after it including the checksum), SW1–SW3, text/photo/fingerprint lengths, the 256-byte text,
    the 1024-byte photo (WLT placeholder), the optional 1024-byte fingerprint, and an XOR checksum
    of the length and body bytes ([M]: GA 467 framing)."""
    text = encode(card)
    wlt = photo_mod.wlt_placeholder(card.photo)
    fp = fingerprint or b""
    if fp and len(fp) != 1024:
        raise CardDataError("fingerprint data is 1024 bytes")
    body = sw + len(text).to_bytes(2, "big") + len(wlt).to_bytes(2, "big") + len(fp).to_bytes(2, "big")
    body += text + wlt + fp
    length = (len(body) + 1).to_bytes(2, "big")
    return SAM_PREAMBLE + length + body + bytes([_xor(length + body)])


def parse_sam_frame(frame: bytes) -> SamFrame:
    if not frame.startswith(SAM_PREAMBLE) or len(frame) < 17:
        raise CardDataError("not a SAM frame (preamble AA AA AA 96 69)")
    length = int.from_bytes(frame[5:7], "big")
    if len(frame) != 7 + length:
        raise CardDataError(f"length field says {length}, frame carries {len(frame) - 7}")
    if _xor(frame[5:-1]) != frame[-1]:
        raise CardDataError("checksum mismatch")
    sw = frame[7:10]
    text_len, photo_len, fp_len = (int.from_bytes(frame[i : i + 2], "big") for i in (10, 12, 14))
    start = 16
    text = frame[start : start + text_len]
    photo = frame[start + text_len : start + text_len + photo_len]
    fingerprint = frame[start + text_len + photo_len : start + text_len + photo_len + fp_len]
    return SamFrame(sw, text, photo, fingerprint)
