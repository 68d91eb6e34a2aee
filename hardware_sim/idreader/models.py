"""The three second-generation card families as frozen records: resident, foreign permanent resident
(2017 and 2023) and 港澳台 residence permit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar, Literal

from hardware_sim.idreader import codes
from hardware_sim.idreader.layouts import FOREIGN_2017_LAYOUT, FOREIGN_2023_LAYOUT, HMT_LAYOUT, RESIDENT_LAYOUT, Slot

SEX_TEXT = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}  # GB/T 2261.1; 0 and 9 are [L] on cards


def platform_gender(sex: str) -> int | None:
    """The platform's ``gender`` (0 男 / 1 女) for a card sex code (1 male / 2 female)."""
    return {"1": 0, "2": 1}.get(sex)


@dataclass(frozen=True)
class ResidentCard:
    name: str
    sex: str  # GB/T 2261.1 code: 1 male, 2 female
    nation: str  # GB 3304 code, 01–56, 97, 98
    birth: date
    address: str  # beyond 35 characters the rest goes to the appended address (机读追加住址)
    id_number: str
    authority: str
    valid_from: date
    valid_to: date | None  # None: 长期
    photo: bytes = field(default=b"", repr=False, compare=False)  # source image (JPEG)

    kind: ClassVar[str] = "resident"
    flag: ClassVar[str] = " "

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def number(self) -> str:
        return self.id_number

    @property
    def appended_address(self) -> str:
        """The part of the address beyond the 70-byte slot (read with ``SDT_ReadNewAppMsg``)."""
        return self.address[RESIDENT_LAYOUT["address"].chars :]


@dataclass(frozen=True)
class ForeignResidentCard:
    english_name: str
    sex: str
    permit_number: str  # 2017: AAA + 12 digits; 2023: 18 digits starting with 9
    nationality: str  # ISO 3166-1 alpha-3
    birth: date
    valid_from: date
    valid_to: date | None
    chinese_name: str = ""
    card_version: str = "01"  # 2017 layout only [L]
    authority_code: str = "1100"  # 2017 layout only: 当次申请受理机关代码 (4 digits)
    authority: str = "国家移民管理局"  # 2023 layout only [L]
    renewal_count: str = "00"  # 2023 layout only [L]
    photo: bytes = field(default=b"", repr=False, compare=False)

    kind: ClassVar[str] = "foreign"

    @property
    def version(self) -> Literal["2017", "2023"]:
        return "2023" if len(self.permit_number) == 18 else "2017"

    @property
    def flag(self) -> str:
        return "Y" if self.version == "2023" else "I"

    @property
    def display_name(self) -> str:
        return self.chinese_name or self.english_name

    @property
    def number(self) -> str:
        return self.permit_number


@dataclass(frozen=True)
class HmtCard:
    name: str
    sex: str
    birth: date
    address: str
    id_number: str  # 810000 / 820000 / 830000 + birth + sequence + check
    authority: str
    valid_from: date
    valid_to: date | None
    pass_number: str  # 港澳居民来往内地通行证 H/M + 8 digits, 台湾居民来往大陆通行证 8 digits
    issue_count: str = "01"  # 签发次数, two digits
    photo: bytes = field(default=b"", repr=False, compare=False)

    kind: ClassVar[str] = "hmt"
    flag: ClassVar[str] = "J"

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def number(self) -> str:
        return self.id_number

    @property
    def region(self) -> str | None:
        return next((r for r, (prefix, _, _) in codes.HMT_REGIONS.items() if self.id_number.startswith(prefix)), None)


Card = ResidentCard | ForeignResidentCard | HmtCard


def layout_of(card: Card) -> dict[str, Slot]:
    if isinstance(card, ResidentCard):
        return RESIDENT_LAYOUT
    if isinstance(card, HmtCard):
        return HMT_LAYOUT
    return FOREIGN_2023_LAYOUT if card.version == "2023" else FOREIGN_2017_LAYOUT
