"""Read QR codes back out of the images the shop serves (zxing-cpp), so tests
check what a phone's camera would read, not how the image was drawn."""

import io

import resvg_py
import zxingcpp
from PIL import Image


def decode_png(png: bytes) -> list[str]:
    """The text of every QR code in a PNG image."""
    image = Image.open(io.BytesIO(png))
    return [
        code.text
        for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def decode_svg(svg: bytes) -> list[str]:
    """Render an SVG image (resvg, on white) and decode its QR codes."""
    png = resvg_py.svg_to_bytes(svg_string=svg.decode(), background="#ffffff")
    return decode_png(bytes(png))
