"""What a gate decides when someone presents a face, a card or an ID card: one pure function shared
by every protocol, so an ISAPI, iclock or callback terminal admits and refuses the same people.

The verdict is also the event's kind: each protocol turns it into its own code with one table
(``Firmware.event_codes`` for ISAPI, ``VERIFY`` for iclock, ``event_type_codes`` in a callback
template). See ``docs/devices/recognition.md`` for the rules and where they come from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

Credential = Literal["face", "card", "id_card"]


class Verdict(StrEnum):
    """The outcome of one presentation (its value is the event kind the journal and templates use)."""

    FACE_PASS = "face_pass"  # an enrolled face, within its validity, not blocklisted
    CARD_PASS = "card_pass"  # an issued card of such a person
    ID_CARD = "id_card"  # an ID card read (reported whoever holds it; named when it matches a person)
    STRANGER = "stranger"  # no enrolled face matches: nobody enrolled, or enrolled without a face
    CARD_UNKNOWN = "card_unknown"  # a card the device has not issued
    OUTSIDE_VALIDITY = "outside_validity"  # recognised, but before the person's validity starts or after it ends
    BLOCKLISTED = "blocklisted"  # recognised, and the person (or this card) is on the blocklist
    LIVENESS_FAIL = "liveness_fail"  # a photo or a mask held up to the camera: nobody is identified

    @property
    def granted(self) -> bool:
        """The gate opens (an attendance record on devices that keep one)."""
        return self in _GRANTED

    @property
    def identifies(self) -> bool:
        """The device knows who it was (the event names the person)."""
        return self in _IDENTIFIES


_GRANTED = frozenset({Verdict.FACE_PASS, Verdict.CARD_PASS})
_IDENTIFIES = frozenset(
    {Verdict.FACE_PASS, Verdict.CARD_PASS, Verdict.ID_CARD, Verdict.OUTSIDE_VALIDITY, Verdict.BLOCKLISTED}
)


class PersonRecord(Protocol):
    """What the decision reads of an enrolled person (``hardware_sim.device.Enrolled``)."""

    @property
    def face(self) -> bytes | None: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_to(self) -> datetime | None: ...
    @property
    def blocklisted(self) -> bool: ...


def within_validity(person: PersonRecord, at: datetime) -> bool:
    """Both ends are inclusive (an ISAPI ``endTime`` of 23:59:59 admits that second)."""
    if person.valid_from is not None and at < person.valid_from:
        return False
    return person.valid_to is None or at <= person.valid_to


def recognise(
    credential: Credential,
    person: PersonRecord | None,
    at: datetime,
    *,
    live: bool = True,
    credential_blocklisted: bool = False,
) -> Verdict:
    """The verdict for ``credential`` presented at ``at`` (the device's clock) by ``person`` — the
    enrolled record the credential points to (the face's claimed owner, the card's holder, the ID
    number's person), or None when the device has nobody for it.

    ``live`` is False for a spoofed face; ``credential_blocklisted`` for a card issued as a
    blocklist card (ISAPI ``cardType: blockList``)."""
    if credential == "face":
        if not live:
            return Verdict.LIVENESS_FAIL
        if person is None or not person.face:
            return Verdict.STRANGER  # without a face template the camera cannot recognise anyone
    elif person is None:
        return Verdict.ID_CARD if credential == "id_card" else Verdict.CARD_UNKNOWN
    if person.blocklisted or credential_blocklisted:
        return Verdict.BLOCKLISTED
    if not within_validity(person, at):
        return Verdict.OUTSIDE_VALIDITY
    return _PASS[credential]


_PASS: dict[Credential, Verdict] = {"face": Verdict.FACE_PASS, "card": Verdict.CARD_PASS, "id_card": Verdict.ID_CARD}
