"""Image files that real users bring and that readers get wrong: headers claiming huge sizes
(decompression bombs) and pictures stored sideways with an EXIF orientation tag."""
import io
import struct
import zlib

import numpy as np
from PIL import Image

#: EXIF orientation tag.
ORIENTATION = 0x0112


def _encode(img: np.ndarray, fmt: str, **params) -> bytearray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt, **params)
    return bytearray(buf.getvalue())


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack('>I', len(payload)) + kind + payload
            + struct.pack('>I', zlib.crc32(kind + payload) & 0xFFFFFFFF))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose IHDR claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)  # 8 bit, truecolour
    return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr)
            + _png_chunk(b'IDAT', zlib.compress(b'\0' * 64)) + _png_chunk(b'IEND', b''))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A 4x4 baseline JPEG whose start-of-frame claims ``width`` x ``height``."""
    data = _encode(np.zeros((4, 4, 3), np.uint8), 'JPEG')
    sof = data.find(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    return bytes(data)


def bmp_claiming(width: int, height: int) -> bytes:
    """A 4x4 BMP whose info header claims ``width`` x ``height``."""
    data = _encode(np.zeros((4, 4, 3), np.uint8), 'BMP')
    data[18:26] = struct.pack('<ii', width, height)
    return bytes(data)


def webp_claiming(width: int, height: int) -> bytes:
    """An animated WebP of two 4x4 frames on a canvas (VP8X chunk) of ``width`` x ``height``."""
    frames = [Image.fromarray(np.full((4, 4, 3), v, np.uint8)) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, 'WEBP', save_all=True, append_images=frames[1:])
    data = bytearray(buf.getvalue())
    assert data[12:16] == b'VP8X'
    data[24:30] = (width - 1).to_bytes(3, 'little') + (height - 1).to_bytes(3, 'little')
    return bytes(data)


def tiff_claiming(width: int, height: int) -> bytes:
    """A 4x4 TIFF whose ImageWidth / ImageLength tags claim ``width`` x ``height``."""
    data = _encode(np.zeros((4, 4, 3), np.uint8), 'TIFF')
    ifd = struct.unpack('<I', data[4:8])[0]
    for k in range(struct.unpack('<H', data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        tag = struct.unpack('<H', data[entry:entry + 2])[0]
        if tag in (256, 257):  # rewrite as one LONG value
            data[entry + 2:entry + 12] = struct.pack('<HII', 4, 1, width if tag == 256 else height)
    return bytes(data)


BOMBS = {'png': png_claiming, 'jpg': jpeg_claiming, 'bmp': bmp_claiming, 'webp': webp_claiming,
         'tif': tiff_claiming}


def upright_picture() -> np.ndarray:
    """A 12x20 RGB picture that no rotation or flip maps onto itself."""
    img = np.full((12, 20, 3), 255, np.uint8)
    img[:3, :, 0] = 0            # cyan band along the top
    img[:, :4, 1] = 0            # magenta band down the left
    img[8:, 14:] = (0, 0, 120)   # dark blue block bottom right
    return img


def stored_sideways(fmt: str, orientation: int = 6, img: np.ndarray = None) -> bytes:
    """``img`` (default :func:`upright_picture`) as a ``fmt`` file whose pixels are stored so
    that applying the EXIF ``orientation`` shows it upright (6: the camera was turned
    clockwise; viewers rotate by 90 degrees clockwise)."""
    img = upright_picture() if img is None else img
    # The inverse of each orientation's display operation (PIL's transpose methods).
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_270}[orientation]
    pil = Image.fromarray(img)
    stored = pil if inverse is None else pil.transpose(inverse)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    params = {'JPEG': dict(quality=100, subsampling=0), 'WEBP': dict(lossless=True)}.get(fmt, {})
    buf = io.BytesIO()
    stored.save(buf, fmt, exif=exif, **params)
    return buf.getvalue()
