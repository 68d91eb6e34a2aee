"""Second-generation ID cards in one namespace (devices.md §7.1): the models, the chip's 256-byte
text block, the SAM frame, number checks, builders and projections, each from its own module.

Three card families, told apart by the card-type flag at bytes 248–249 of the text block:

* :class:`ResidentCard` — 居民身份证, flag blank (space).
* :class:`ForeignResidentCard` — 外国人永久居留身份证: the 2017 card (flag ``I``, 15-character permit
  number: three letters + twelve digits) and the 2023 card (18-digit number ``9`` + province +
  numeric country + ``YYYYMMDD`` + sequence + MOD 11-2 check). The 2023 card carries flag ``Y`` in
  vendor SDKs; its byte layout is a reconstruction ([L], see ``FOREIGN_2023_LAYOUT``).
* :class:`HmtCard` — 港澳台居民居住证, flag ``J``.

Every text field is UCS-2 little-endian, left-aligned and padded with spaces (``20 00``) to its
width; dates are ``YYYYMMDD`` and an open-ended validity reads ``长期`` (:mod:`~hardware_sim.idreader.layouts`).
:func:`encode` builds the block, :func:`decode` reads one back (:mod:`~hardware_sim.idreader.chip`),
:func:`sam_frame` wraps it as the SAM answers ``SDT_ReadBaseMsg`` (:mod:`~hardware_sim.idreader.sam`).
Builders turn a fake :class:`~fixtures.fake.people.Person` into a resident card and draw foreign and
港澳台 cards deterministically from a seed (:mod:`~hardware_sim.idreader.builders`); projections give
the JSON, reader-service and platform views (:mod:`~hardware_sim.idreader.projections`).
"""

from __future__ import annotations

from hardware_sim.idreader.builders import (
    FAMILY,
    FOREIGN_CHINESE,
    GIVEN,
    HMT_CITIES,
    REFERENCE_DAY,
    card_from_person_json,
    fixture_person,
    foreign_card,
    hmt_card,
    resident_from_person,
)
from hardware_sim.idreader.chip import (
    card_flag,
    decode,
    encode,
)
from hardware_sim.idreader.layouts import (
    BLOCK_SIZE,
    FLAG_OFFSET,
    FOREIGN_2017_LAYOUT,
    FOREIGN_2023_LAYOUT,
    HMT_LAYOUT,
    LONG_TERM,
    RESIDENT_LAYOUT,
    CardDataError,
    Slot,
    pack,
    parse_valid_to,
    parse_ymd,
    unpack,
    valid_to_text,
    ymd,
)
from hardware_sim.idreader.models import (
    SEX_TEXT,
    Card,
    ForeignResidentCard,
    HmtCard,
    ResidentCard,
    layout_of,
    platform_gender,
)
from hardware_sim.idreader.numbers import (
    PR_2017,
    PR_2023,
    hmt_number_problem,
    permit_number_problem,
)
from hardware_sim.idreader.projections import (
    CERT_TYPES,
    card_from_json,
    card_to_json,
    hx_content,
    info,
    nation_fields,
    platform_fields,
    platform_id_card_type,
)
from hardware_sim.idreader.sam import (
    SAM_PREAMBLE,
    SW_FIND_OK,
    SW_OK,
    SamFrame,
    parse_sam_frame,
    sam_frame,
)

__all__ = [
    "BLOCK_SIZE",
    "CERT_TYPES",
    "FAMILY",
    "FLAG_OFFSET",
    "FOREIGN_2017_LAYOUT",
    "FOREIGN_2023_LAYOUT",
    "FOREIGN_CHINESE",
    "GIVEN",
    "HMT_CITIES",
    "HMT_LAYOUT",
    "LONG_TERM",
    "PR_2017",
    "PR_2023",
    "REFERENCE_DAY",
    "RESIDENT_LAYOUT",
    "SAM_PREAMBLE",
    "SEX_TEXT",
    "SW_FIND_OK",
    "SW_OK",
    "Card",
    "CardDataError",
    "ForeignResidentCard",
    "HmtCard",
    "ResidentCard",
    "SamFrame",
    "Slot",
    "card_flag",
    "card_from_json",
    "card_from_person_json",
    "card_to_json",
    "decode",
    "encode",
    "fixture_person",
    "foreign_card",
    "hmt_card",
    "hmt_number_problem",
    "hx_content",
    "info",
    "layout_of",
    "nation_fields",
    "pack",
    "parse_sam_frame",
    "parse_valid_to",
    "parse_ymd",
    "permit_number_problem",
    "platform_fields",
    "platform_gender",
    "platform_id_card_type",
    "resident_from_person",
    "sam_frame",
    "unpack",
    "valid_to_text",
    "ymd",
]
