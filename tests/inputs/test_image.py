"""load_image: every reference kind, every Pillow mode, EXIF orientation, arrays, limits and JPEG draft decoding."""

from __future__ import annotations

import base64
import io
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile
from support import media

from omniembed.errors import MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs import MediaLimits, load_image

RED_L = Image.new("RGB", (1, 1), (200, 40, 10)).convert("L").getpixel((0, 0))  # 84
BLUE_L = Image.new("RGB", (1, 1), (0, 0, 255)).convert("L").getpixel((0, 0))  # 29


@pytest.fixture(scope="module")
def astronaut_png(media_dir, astronaut) -> str:
    path = media_dir / "astronaut.png"
    astronaut.save(path)
    return str(path)


def test_every_reference_kind_gives_identical_pixels(astronaut, astronaut_png):
    data = Path(astronaut_png).read_bytes()
    refs = {
        "str path": astronaut_png,
        "Path": Path(astronaut_png),
        "file URL": Path(astronaut_png).as_uri(),
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "data URI": "data:image/png;base64," + base64.b64encode(data).decode(),
        "bare base64": base64.b64encode(data).decode(),
        "file object": io.BytesIO(data),
        "PIL": astronaut,
        "HWC array": np.asarray(astronaut),
    }
    expected = np.asarray(astronaut.convert("RGB"))
    for name, ref in refs.items():
        img = load_image(ref)
        assert img.mode == "RGB" and img.size == (512, 512), name
        assert np.array_equal(np.asarray(img), expected), name


def test_pil_input_is_not_mutated_or_returned(astronaut):
    before = np.asarray(astronaut).copy()
    out = load_image(astronaut, exif_transpose=False)
    assert out is not astronaut
    out.paste((0, 0, 0), (0, 0, 10, 10))
    assert np.array_equal(np.asarray(astronaut), before)


# (mode, opaque pixel (0, 0), transparent pixel (7, 5), half-transparent black pixel (7, 0)) on white.
_ALPHA_CASES = [
    ("RGBA", (200, 40, 10)),
    ("RGBa", (200, 40, 10)),
    ("LA", (RED_L,) * 3),
    ("La", (RED_L,) * 3),
    ("PA", (200, 40, 10)),
    ("P", (200, 40, 10)),
]


@pytest.mark.parametrize("mode,opaque", _ALPHA_CASES, ids=[c[0] for c in _ALPHA_CASES])
def test_alpha_modes_are_composited_on_white(mode, opaque):
    src = media.mode_image(mode)
    assert src.mode == mode
    out = load_image(src)
    assert out.mode == "RGB" and out.size == src.size
    assert out.getpixel((0, 0)) == opaque
    assert out.getpixel((7, 5)) == (255, 255, 255)
    if mode != "P":  # a palette keeps one transparent index, no partial alpha
        assert all(abs(c - 127) <= 1 for c in out.getpixel((7, 0)))  # 255 × (1 - 128/255)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA"])
def test_background_is_configurable_and_none_drops_alpha(mode):
    src = media.mode_image(mode)
    assert load_image(src, background=(0, 255, 0)).getpixel((7, 5)) == (0, 255, 0)
    # background=None is the reference's plain convert("RGB"): the stored colour of transparent pixels shows.
    stored = (0, 0, 255) if mode != "LA" else (BLUE_L,) * 3
    dropped = load_image(src, background=None)
    assert dropped.getpixel((7, 5)) == stored
    assert np.array_equal(np.asarray(dropped), np.asarray(src.convert("RGB")))


@pytest.mark.parametrize("mode", ["1", "L", "RGB", "CMYK", "YCbCr", "HSV", "LAB"])
def test_opaque_modes_match_pillow_conversion(mode):
    src = media.mode_image(mode)
    out = load_image(src)
    assert out.mode == "RGB"
    assert np.array_equal(np.asarray(out), np.asarray(src.convert("RGB")))
    if mode == "L":
        assert out.getpixel((0, 0)) == (RED_L,) * 3
    if mode == "1":
        assert set(np.unique(np.asarray(out))) <= {0, 255}


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_high_depth_modes_are_scaled_not_clipped(mode):
    src = media.mode_image(mode)  # grey 100 in 8-bit terms (25700 in 16-bit, 0.392 as float)
    out = load_image(src)
    assert out.getpixel((3, 3)) == (100, 100, 100)
    assert src.convert("RGB").getpixel((3, 3)) != (100, 100, 100) or mode == "F"  # what clipping would give


def test_sixteen_bit_png_round_trip(media_dir):
    values = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    path = media_dir / "grey16.png"
    Image.fromarray(values).save(path)
    out = np.asarray(load_image(str(path)))[..., 0]
    assert np.array_equal(out, np.rint(values / 257).astype(np.uint8))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_the_upright_image(orientation):
    upright = media.skimage_image("chelsea.png").convert("RGB")  # 451×300: rotations show in the size
    data = media.exif_jpeg(upright, orientation)
    out = load_image(data)
    assert out.size == upright.size
    diff = np.abs(np.asarray(out, np.int16) - np.asarray(upright, np.int16))
    assert diff.mean() < 3.0  # JPEG quality 95
    raw = load_image(data, exif_transpose=False)
    if orientation != 1:  # the test is not vacuous: the stored pixels are really turned
        assert raw.size != upright.size or np.abs(np.asarray(raw, np.int16) - np.asarray(upright)).mean() > 20


def test_animated_gif_gives_its_first_frame():
    path = media.skimage_path("no_time_for_that_tiny.gif")
    with Image.open(path) as gif:
        assert gif.n_frames > 1
        first = np.asarray(gif.convert("RGB"))
    assert np.array_equal(np.asarray(load_image(path)), first)


# ---------------------------------------------------------------------------------------------- arrays
def test_arrays_and_tensors_match_the_pil_path(astronaut):
    hwc = np.asarray(astronaut)
    expected = hwc
    variants = {
        "HWC uint8": hwc,
        "CHW uint8": hwc.transpose(2, 0, 1),
        "HWC float [0,1]": hwc.astype(np.float32) / 255,
        "CHW float64 [0,1]": hwc.transpose(2, 0, 1) / 255.0,
        "HWC float [0,255]": hwc.astype(np.float32),
        "1HWC": hwc[None],
        "torch CHW uint8": torch.from_numpy(hwc.transpose(2, 0, 1).copy()),
        "torch CHW float": torch.from_numpy(hwc.transpose(2, 0, 1).copy()).float() / 255,
        "torch bfloat16 [0,255]": torch.from_numpy(hwc.copy()).to(torch.bfloat16).float().round().to(torch.bfloat16),
    }
    for name, value in variants.items():
        out = np.asarray(load_image(value))
        tolerance = 1 if "bfloat16" in name else 0  # bfloat16 cannot hold every integer above 128
        if tolerance:
            assert np.abs(out.astype(int) - expected).max() <= 2, name
        else:
            assert np.array_equal(out, expected), name


def test_grey_and_alpha_arrays(astronaut):
    grey = np.asarray(astronaut.convert("L"))
    for value in (grey, grey[..., None], grey[None], grey.astype(np.float32) / 255):
        out = np.asarray(load_image(value))
        assert np.array_equal(out, np.repeat(grey[..., None], 3, axis=2))
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    out = load_image(rgba)
    assert out.getpixel((0, 0)) == (10, 20, 30) and out.getpixel((1, 1)) == (255, 255, 255)
    assert load_image(np.ones((3, 3), bool)).getpixel((1, 1)) == (255, 255, 255)
    assert load_image(np.full((3, 3), 25700, np.uint16)).getpixel((1, 1)) == (100, 100, 100)


@pytest.mark.parametrize(
    "value,message",
    [
        (np.full((4, 4, 3), 300.0, np.float32), "[0, 1] or [0, 255]"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.full((4, 4, 3), -5, np.int32), "0..255"),
        (np.zeros((5, 6, 7), np.uint8), "colour channels"),
        (np.zeros((2, 4, 4, 3), np.uint8), "(H, W)"),
        (np.zeros(5, np.uint8), "(H, W)"),
        ({"image": "x.png"}, "pass the image itself"),
        (12, "cannot read image from a int"),
    ],
)
def test_unusable_values_raise_unsupported_input(value, message):
    with pytest.raises(UnsupportedInputError, match=re.escape(message)):
        load_image(value)


# ---------------------------------------------------------------------------------------------- limits
def test_header_bomb_is_refused_before_decoding():
    bomb = media.png_header_bomb(100_000, 100_000, idat=True)
    start = time.perf_counter()
    with pytest.raises(MediaTooLargeError, match="pixels|bomb"):
        load_image(bomb)
    assert time.perf_counter() - start < 1.0  # decoding 10^10 pixels would take minutes and 30 GB
    # Pillow's own guard (2 × its MAX_IMAGE_PIXELS) still answers when our limit is raised above it.
    with pytest.raises(MediaTooLargeError, match="decompression bomb"):
        load_image(bomb, limits=MediaLimits(max_image_pixels=10**11))


def test_pixel_limit_is_ours_and_configurable(astronaut, astronaut_png):
    exact = MediaLimits(max_image_pixels=512 * 512)
    assert load_image(astronaut_png, limits=exact).size == (512, 512)
    small = MediaLimits(max_image_pixels=512 * 512 - 1)
    for ref in (astronaut_png, astronaut, np.asarray(astronaut)):
        with pytest.raises(MediaTooLargeError, match="max_image_pixels=262143"):
            load_image(ref, limits=small)
    # 9000 × 9000 is under Pillow's thresholds: only our limit stops it, from the header alone.
    with pytest.raises(MediaTooLargeError, match="9000×9000"):
        load_image(media.png_header_bomb(9000, 9000), limits=MediaLimits(max_image_pixels=50_000_000))
    with pytest.raises(MediaTooLargeError, match="max_bytes=1000"):
        load_image(astronaut_png, limits=MediaLimits(max_bytes=1000))


def test_truncated_images_fail_and_the_pillow_flag_stays_off(astronaut):
    for fmt in ("JPEG", "PNG", "WEBP", "GIF"):
        data = media.encode_image(astronaut, fmt)
        with pytest.raises(MediaDecodeError, match="corrupt or truncated|not a valid image"):
            load_image(data[: len(data) * 2 // 3])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_formats_outside_the_allowlist_are_refused(astronaut):
    for fmt in ("EPS", "PCX", "TGA", "SGI"):
        try:
            data = media.encode_image(astronaut, fmt)
        except (OSError, KeyError):  # EPS needs Ghostscript to *write*; reading is what we refuse anyway
            data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        with pytest.raises(MediaDecodeError, match="allowed format"):
            load_image(data)


# ----------------------------------------------------------------------------------------------- draft
@pytest.fixture(scope="module")
def big_jpeg(astronaut) -> bytes:
    return media.encode_image(astronaut.resize((3000, 2000), Image.BICUBIC), "JPEG", quality=90)


@pytest.mark.parametrize(
    "target,size",
    [
        (224, (750, 500)),
        ((224, 224), (750, 500)),
        (100, (375, 250)),
        (400, (1500, 1000)),
        (1000, (3000, 2000)),
        (None, (3000, 2000)),
    ],
)
def test_draft_decodes_at_a_reduced_scale_keeping_twice_the_target(big_jpeg, target, size):
    img = load_image(big_jpeg, target_size=target)
    assert img.size == size and img.mode == "RGB"
    if target is not None:
        side = target if isinstance(target, int) else max(target)
        assert min(img.size) >= 2 * side or img.size == (3000, 2000)


def test_draft_only_applies_to_jpeg_and_respects_exif(astronaut):
    png = media.encode_image(astronaut.resize((3000, 2000)), "PNG", compress_level=1)
    assert load_image(png, target_size=224).size == (3000, 2000)
    rotated = media.exif_jpeg(astronaut.resize((3000, 2000)), 6)  # stored 2000×3000, shown 3000×2000
    assert load_image(rotated, target_size=224).size == (750, 500)


def test_draft_changes_the_model_input_by_a_few_grey_levels_at_most(big_jpeg):
    def preprocess(img):  # CLIP-style: shortest side 224 (bicubic), centre crop
        w, h = img.size
        scale = 224 / min(w, h)
        img = img.resize((round(w * scale), round(h * scale)), Image.BICUBIC)
        left, top = (img.size[0] - 224) // 2, (img.size[1] - 224) // 2
        return np.asarray(img.crop((left, top, left + 224, top + 224)), np.int16)

    full, draft = preprocess(load_image(big_jpeg)), preprocess(load_image(big_jpeg, target_size=224))
    diff = np.abs(full - draft)
    assert diff.mean() < 1.0 and diff.max() <= 8
