"""Code tables the card chip uses and the repo does not otherwise carry.

* Nation (民族), GB 3304: codes 01–56 come from the repo's ``nation_GB3304`` table
  (``fixtures/data/code-tables.json``); 97 其他 and 98 外国血统中国籍人士 are part of GB 3304 but
  absent from the platform sources, so they are carried here. The chip stores the two-digit code;
  the card face, and the platform's ``nation`` field, carry the text without 族 (汉, 蒙古, …).
* Nationality of foreign permanent residents: the 2017 card stores ISO 3166-1 alpha-3, the 2023
  number embeds ISO 3166-1 numeric. Only the few countries the generators use are listed.
* 港澳台 residence permits: the 18-digit number starts with 810000 (Hong Kong), 820000 (Macao) or
  830000 (Taiwan); the pass number is H/M + 8 digits (回乡证) or 8 digits (台胞证).
"""

from __future__ import annotations

from functools import cache

from standard import code_tables

# GB 3304 codes outside 01–56 (not in the platform's code tables).
NATION_EXTRA: dict[str, str] = {"97": "其他", "98": "外国血统中国籍人士"}

# alpha-3 → (numeric, Chinese short name); ISO 3166-1.
COUNTRIES: dict[str, tuple[str, str]] = {
    "CAN": ("124", "加拿大"),
    "USA": ("840", "美国"),
    "GBR": ("826", "英国"),
    "DEU": ("276", "德国"),
    "FRA": ("250", "法国"),
    "ITA": ("380", "意大利"),
    "RUS": ("643", "俄罗斯"),
    "JPN": ("392", "日本"),
    "KOR": ("410", "韩国"),
    "SGP": ("702", "新加坡"),
    "AUS": ("036", "澳大利亚"),
    "PAK": ("586", "巴基斯坦"),
    "VNM": ("704", "越南"),
    "MMR": ("104", "缅甸"),
    "SAU": ("682", "沙特阿拉伯"),
    "BRA": ("076", "巴西"),
    "NGA": ("566", "尼日利亚"),
}

# region → (ID-number prefix, pass-number letter, label)
HMT_REGIONS: dict[str, tuple[str, str, str]] = {
    "HK": ("810000", "H", "香港"),
    "MO": ("820000", "M", "澳门"),
    "TW": ("830000", "", "台湾"),
}


@cache
def nations() -> dict[str, str]:
    """GB 3304 code → card text (no 族): ``{"01": "汉", …, "97": "其他", "98": "外国血统中国籍人士"}``."""
    table = {code: label.removesuffix("族") for code, label in code_tables.table("nation_GB3304").items()}
    table.update(NATION_EXTRA)
    return table


def nation_text(code: str) -> str:
    """The text printed on the card for a nation code; KeyError for an unknown code."""
    return nations()[code]


def nation_code(text: str) -> str:
    """The GB 3304 code for a nation text, with or without 族 (汉 / 汉族 → 01); KeyError if unknown."""
    wanted = text.strip()
    short = wanted.removesuffix("族") if wanted not in nations().values() else wanted
    for code, label in nations().items():
        if label in (wanted, short):
            return code
    raise KeyError(f"unknown nation {text!r}")


def country_name(alpha3: str) -> str:
    """Chinese name of a nationality code, or the code itself when the table does not know it."""
    entry = COUNTRIES.get(alpha3)
    return entry[1] if entry else alpha3


def country_alpha3(numeric: str) -> str | None:
    return next((a3 for a3, (num, _) in COUNTRIES.items() if num == numeric), None)
