#!/usr/bin/env python3
"""Writes the scanned-list fixtures the OCR tests read (committed; rerun only
to change them): `scanned-list.png`, a 公示 list of 低保 recipients as a
photographed page, and `scanned-list.pdf`, the same page as an image-only PDF
(no text layer). Needs Pillow and a CJK font (Debian: fonts-noto-cjk).

The numbers are made up; the 身份证 number has a valid GB 11643 check digit
and the mobile number a real 13x prefix, so the pii plugin must find both.
"""
from pathlib import Path

import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
HERE = Path(__file__).parent


def id_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    return "10X98765432"[total % 11]


def page() -> Image.Image:
    id_number = "32010219800101123"
    id_number += id_check(id_number)
    rows = [
        ("序号", "姓名", "联系电话", "身份证号码"),
        ("1", "王小明", "13812345678", id_number),
        ("2", "李秀英", "—", "—"),
    ]
    title = ImageFont.truetype(FONT, 40, index=2)
    cell = ImageFont.truetype(FONT, 30, index=2)
    img = Image.new("L", (1240, 600), 255)
    draw = ImageDraw.Draw(img)
    draw.text((200, 40), "2026年第四季度城乡低保对象公示名单", font=title, fill=0)
    xs = [60, 180, 380, 650]
    for r, row in enumerate(rows):
        y = 150 + r * 70
        for x, text in zip(xs, row):
            draw.text((x, y), text, font=cell, fill=0)
        draw.line((50, y + 55, 1190, y + 55), fill=90, width=2)
    draw.text((60, 420), "公示期：2026年12月1日至12月7日。", font=cell, fill=0)
    # As a flatbed scan leaves it: slightly turned, soft, with specks.
    img = img.rotate(0.8, resample=Image.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.6))
    rng = random.Random(11643)
    for _ in range(400):
        img.putpixel((rng.randrange(img.width), rng.randrange(img.height)), rng.randrange(120, 200))
    return img


if __name__ == "__main__":
    img = page()
    img.save(HERE / "scanned-list.png", optimize=True)
    img.save(HERE / "scanned-list.pdf", resolution=150)
