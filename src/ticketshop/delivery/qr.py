"""QR images of tickets: segno draws the code, Pillow prints the caption."""

import io
from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFont

# 8 px per module: a signed payload (about 100 characters) fits QR version 6
# (41 modules), so the image is 392 px wide with its quiet zone, large and
# sharp on a phone screen held to a door scanner.
QR_SCALE = 8
QR_BORDER = 4
# Medium error correction survives a cracked screen or a smudge.
QR_ERROR = "m"
_CAPTION_PADDING = 16


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def make_qr(data: str) -> segno.QRCode:
    """Return the QR code of ``data`` (never a Micro QR: phones cannot read it)."""
    return segno.make(data, error=QR_ERROR, micro=False)


def qr_code_png(qr: segno.QRCode, *, scale: int = QR_SCALE) -> bytes:
    """Return the bare QR code as PNG."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()


def ticket_qr_png(*, code_png: bytes, external_id: str, caption: str) -> bytes:
    """Return the ticket's QR code with its type and id printed under it."""
    code = Image.open(io.BytesIO(code_png)).convert("L")
    caption_font = _font(22)
    id_font = _font(34)
    draw_probe = ImageDraw.Draw(code)
    caption_box = draw_probe.textbbox((0, 0), caption, font=caption_font)
    id_box = draw_probe.textbbox((0, 0), external_id, font=id_font)
    caption_height = caption_box[3] - caption_box[1]
    id_height = id_box[3] - id_box[1]
    width = max(
        code.width,
        caption_box[2] - caption_box[0] + 2 * _CAPTION_PADDING,
        id_box[2] - id_box[0] + 2 * _CAPTION_PADDING,
    )
    height = code.height + caption_height + id_height + 3 * _CAPTION_PADDING
    image = Image.new("L", (width, height), color=255)
    image.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(image)
    top = code.height
    draw.text((width // 2, top), caption, font=caption_font, fill=0, anchor="mt")
    top += caption_height + _CAPTION_PADDING
    draw.text((width // 2, top), external_id, font=id_font, fill=0, anchor="mt")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def dark_runs(qr: segno.QRCode) -> list[tuple[int, int, int]]:
    """Return the dark modules as (row, first column, length) runs, no border."""
    runs = []
    for row, modules in enumerate(qr.matrix_iter(border=0)):
        start = None
        for column, dark in enumerate([*modules, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                runs.append((row, start, column - start))
                start = None
    return runs
