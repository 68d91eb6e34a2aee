"""Virtual second-generation ID-card reader (二代证读卡器): card models and the chip's 256-byte
text block (:mod:`.card`), pre-rendered photos (:mod:`.photo`), GB 3304 and nationality codes
(:mod:`.codes`) and the reader's local web services (:mod:`.reader`). See docs/devices/idreader.md."""

from hardware_sim.idreader.card import (
    Card,
    CardDataError,
    ForeignResidentCard,
    HmtCard,
    ResidentCard,
    decode,
    encode,
    foreign_card,
    hmt_card,
    resident_from_person,
    sam_frame,
)

__all__ = [
    "Card",
    "CardDataError",
    "ForeignResidentCard",
    "HmtCard",
    "ResidentCard",
    "decode",
    "encode",
    "foreign_card",
    "hmt_card",
    "resident_from_person",
    "sam_frame",
]
