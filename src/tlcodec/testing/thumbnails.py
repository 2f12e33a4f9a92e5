"""Stripped thumbnails for the test DCs' accounts: real ones, so that a client that rebuilds the
JPEG (tdesktop's and Telethon's `stripped_photo_to_jpg`) decodes a picture, made here because a
test DC has no photos to shrink.
"""

from __future__ import annotations

__all__ = ["stripped_thumb"]

# A stripped thumbnail is a JPEG minus the fixed header and footer every client re-adds
# (tdesktop's and Telethon's `stripped_photo_to_jpg`): byte 1, then height and width (patched
# into the header's SOF), then the entropy-coded scan. The header declares 4:2:0 sampling with
# the standard Huffman tables and a luminance DC quantizer of 40, chrominance 43.
_THUMB_SIDE = 40  # pixels; 3x3 MCUs of 16x16
_LUMA_Q0 = 40
_CHROMA_Q0 = 43
# Standard (ITU T.81 Annex K) DC Huffman codes by size category, as (code, length).
_LUMA_DC = [(0b00, 2), (0b010, 3), (0b011, 3), (0b100, 3), (0b101, 3), (0b110, 3),
            (0b1110, 4), (0b11110, 5), (0b111110, 6), (0b1111110, 7), (0b11111110, 8)]
_CHROMA_DC = [(0b00, 2), (0b01, 2), (0b10, 2), (0b110, 3), (0b1110, 4), (0b11110, 5),
              (0b111110, 6), (0b1111110, 7), (0b11111110, 8), (0b111111110, 9)]
_LUMA_EOB = (0b1010, 4)
_CHROMA_EOB = (0b00, 2)


def stripped_thumb(seed: int) -> bytes:
    """A real stripped thumbnail: a 40x40 square of one colour picked from `seed` (a user id),
    decodable by any client that rebuilds the JPEG."""
    hue = seed % 6
    # A few pleasant avatar colours as YCbCr (JFIF) values.
    y, cb, cr = [(150, 90, 170), (120, 170, 90), (140, 110, 100),
                 (110, 160, 150), (160, 80, 140), (130, 140, 80)][hue]
    bits: list[tuple[int, int]] = []

    def dc(value: int, quantizer: int, table: list[tuple[int, int]], previous: int) -> int:
        # A flat 8x8 block has only a DC coefficient: 8 * (value - 128), quantized.
        coefficient = round(8 * (value - 128) / quantizer)
        diff = coefficient - previous
        size = abs(diff).bit_length()
        bits.append(table[size])
        if size:
            bits.append((diff if diff > 0 else diff + (1 << size) - 1, size))
        return coefficient

    previous = [0, 0, 0]
    mcus = (_THUMB_SIDE + 15) // 16
    for _ in range(mcus * mcus):
        for _ in range(4):
            previous[0] = dc(y, _LUMA_Q0, _LUMA_DC, previous[0])
            bits.append(_LUMA_EOB)
        previous[1] = dc(cb, _CHROMA_Q0, _CHROMA_DC, previous[1])
        bits.append(_CHROMA_EOB)
        previous[2] = dc(cr, _CHROMA_Q0, _CHROMA_DC, previous[2])
        bits.append(_CHROMA_EOB)
    accumulator, count = 0, 0
    for code, length in bits:
        accumulator = accumulator << length | code
        count += length
    pad = -count % 8
    accumulator = accumulator << pad | ((1 << pad) - 1)  # pad with 1 bits (T.81 F.1.2.3)
    scan = accumulator.to_bytes((count + pad) // 8, "big").replace(b"\xff", b"\xff\x00")
    return bytes((1, _THUMB_SIDE, _THUMB_SIDE)) + scan
