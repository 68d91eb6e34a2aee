"""Card photos. The chip holds a 1024-byte WLT image that only the licensed ``WltRS.dll`` /
``libwltdecode`` can decode into a 102×126 24-bit BMP (devices.md §7.1). The simulator ships the
decoded result instead: the BMP (38,862 bytes, rows padded to 308 bytes) and a JPEG of it, rendered
with Pillow from a fake face, and a deterministic 1024-byte placeholder where the WLT would be.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageOps

WIDTH, HEIGHT = 102, 126
ROW_BYTES = (WIDTH * 3 + 3) // 4 * 4  # 308: each BMP row is padded to a multiple of 4 bytes
BMP_HEADER = 14 + 40  # BITMAPFILEHEADER + BITMAPINFOHEADER
BMP_SIZE = BMP_HEADER + ROW_BYTES * HEIGHT  # 38,862
WLT_SIZE = 1024
WLT_MAGIC = b"WLTSIM"  # marks the placeholder: real WLT data cannot be produced without the vendor codec


def _blank() -> Image.Image:
    return Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))


@lru_cache(maxsize=256)
def _card_image(source: bytes) -> Image.Image:
    """The face scaled and cropped to the card's 102×126 (the chip's resolution)."""
    if not source:
        return _blank()
    with Image.open(io.BytesIO(source)) as img:
        return ImageOps.fit(img.convert("RGB"), (WIDTH, HEIGHT), Image.Resampling.LANCZOS)


@lru_cache(maxsize=256)
def bmp(source: bytes) -> bytes:
    """The 102×126 24-bit BMP a WLT decoder writes (38,862 bytes); ``source`` is any image Pillow reads
    (empty gives a white card)."""
    out = io.BytesIO()
    _card_image(source).save(out, "BMP")
    data = out.getvalue()
    assert len(data) == BMP_SIZE, len(data)
    return data


@lru_cache(maxsize=256)
def jpeg(source: bytes, quality: int = 90) -> bytes:
    """The same 102×126 picture as JPEG (what most reader services hand to the browser)."""
    out = io.BytesIO()
    _card_image(source).save(out, "JPEG", quality=quality)
    return out.getvalue()


def wlt_placeholder(source: bytes) -> bytes:
    """1024 bytes standing in for the WLT: a marker and a SHA-256 stream of the source image, so the
    same card always yields the same bytes. Not decodable by a real WLT library."""
    out = bytearray(WLT_MAGIC)
    counter = 0
    while len(out) < WLT_SIZE:
        out += hashlib.sha256(counter.to_bytes(4, "big") + source).digest()
        counter += 1
    return bytes(out[:WLT_SIZE])
