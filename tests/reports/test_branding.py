"""Report branding without a request: colours, contrast, and every way a logo is refused or cleaned."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zlib
from types import SimpleNamespace

import pytest
from PIL import Image, PngImagePlugin

from reports.branding import (
    COLOUR_MESSAGE,
    DEFAULT_ACCENT,
    DEFAULT_BRAND,
    LOGO_MAX_BYTES,
    NOT_AN_IMAGE,
    TOO_LARGE,
    TOO_MANY_PIXELS,
    BrandingError,
    brand_colours,
    contrast_ok,
    contrast_ratio,
    logo_data_uri,
    parse_colour,
    preview_width,
    process_logo,
    swatch_data_uri,
)

# --- Builders ----------------------------------------------------------------------------------------


def png(size: tuple[int, int] = (120, 40), mode: str = "RGB", colour: object = (31, 78, 121), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format="PNG", **save)  # type: ignore[arg-type]
    return out.getvalue()


def noisy_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress, so its IDAT data is long (for truncation)."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, bytes(hashlib.shake_256(b"noise").digest(size[0] * size[1] * 3))).save(
        out, format="PNG"
    )
    return out.getvalue()


def jpeg(size: tuple[int, int] = (200, 100), mode: str = "RGB", exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    kwargs: dict[str, object] = {"quality": 90}
    if exif is not None:
        kwargs["exif"] = exif
    Image.new(mode, size, "#1f4e79" if mode == "RGB" else (10, 20, 30, 40)).save(out, format="JPEG", **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes that claim width x height pixels: a decompression bomb's header, crafted cheaply."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- Colours -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#1F4E79", "#1f4e79"),
        ("#1f4e79", "#1f4e79"),
        ("1f4e79", "#1f4e79"),
        ("ABCDEF", "#abcdef"),
        ("  #00aA11 ", "#00aa11"),
        ("", None),
        ("   ", None),
    ],
)
def test_a_colour_is_six_hex_digits_with_or_without_a_hash(text, expected):
    assert parse_colour(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "#fff",
        "#1f4e7",
        "#1f4e799",
        "##1f4e79",
        "red",
        "#gggggg",
        "rgb(1,2,3)",
        "#1f4e79;}body{display:none",
        "#1f4e\n79",
        "var(--x)",
        "#１f4e79",  # a full-width digit is not a hex digit
    ],
)
def test_anything_else_is_refused_with_a_plain_message(text):
    with pytest.raises(BrandingError, match="six hex digits") as refused:
        parse_colour(text, "accent_colour")
    assert str(refused.value) == COLOUR_MESSAGE
    assert refused.value.field == "accent_colour"


def test_contrast_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ok("#767676", "#ffffff")
    assert not contrast_ok("#777777", "#ffffff")
    assert contrast_ok(DEFAULT_BRAND) and contrast_ok(DEFAULT_ACCENT)


def agency(brand=None, accent=None):
    return SimpleNamespace(brand_colour=brand, accent_colour=accent)


def client(brand=None):
    return SimpleNamespace(brand_colour=brand)


@pytest.mark.parametrize(
    ("the_agency", "the_client", "expected"),
    [
        pytest.param(agency(), client(), (DEFAULT_BRAND, DEFAULT_ACCENT), id="defaults"),
        pytest.param(agency(), None, (DEFAULT_BRAND, DEFAULT_ACCENT), id="no-client"),
        pytest.param(agency("#2b6cb0", "#9c4221"), client(), ("#2b6cb0", "#9c4221"), id="agency"),
        pytest.param(agency("#2b6cb0", "#9c4221"), client("#276749"), ("#276749", "#9c4221"), id="client-wins"),
        pytest.param(agency("#2b6cb0"), client("#f6e05e"), ("#2b6cb0", DEFAULT_ACCENT), id="light-client-to-agency"),
        pytest.param(agency("#fefcbf", "#ffd166"), client("#f6e05e"), (DEFAULT_BRAND, DEFAULT_ACCENT), id="all-light"),
        pytest.param(agency("#2B6CB0"), client(), ("#2b6cb0", DEFAULT_ACCENT), id="stored-upper-case"),
        pytest.param(agency("red;}", "url(x)"), client("#12"), (DEFAULT_BRAND, DEFAULT_ACCENT), id="stored-garbage"),
    ],
)
def test_brand_colours_fall_back_when_unset_or_unreadable_on_white(the_agency, the_client, expected):
    assert brand_colours(the_agency, the_client) == {"--brand": expected[0], "--accent": expected[1]}


def test_a_swatch_is_a_png_of_the_colour():
    uri = swatch_data_uri("#2B6CB0")
    image = opened(base64.b64decode(uri.removeprefix("data:image/png;base64,")))
    assert image.getpixel((5, 5)) == (0x2B, 0x6C, 0xB0)
    with pytest.raises(BrandingError):
        swatch_data_uri("red")


# --- Logos refused -----------------------------------------------------------------------------------


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40)).save(out, format="GIF")
    return out.getvalue()


def truncated_png() -> bytes:
    whole = noisy_png((200, 200))
    return whole[: len(whole) // 2]


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(1)</script><image href="file:///etc/passwd"/></svg>'
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Quarterly figures, definitely a logo\n", id="text-file-named-png"),
        pytest.param(SVG, id="svg"),
        pytest.param(gif(), id="gif"),
        pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", id="pdf"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-magic-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, id="png-magic-then-junk"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 200, id="jpeg-magic-then-junk"),
        pytest.param(truncated_png(), id="truncated-png"),
        pytest.param(jpeg()[:300], id="truncated-jpeg"),
        pytest.param(b"GIF89a" + png()[6:], id="png-body-behind-a-gif-header"),
    ],
)
def test_anything_but_a_whole_png_or_jpeg_is_refused(data):
    with pytest.raises(BrandingError) as refused:
        process_logo(data)
    assert str(refused.value) == NOT_AN_IMAGE
    assert refused.value.field == "logo"


def test_a_30_mb_file_is_refused_before_it_is_opened():
    with pytest.raises(BrandingError) as refused:
        process_logo(b"\x89PNG\r\n\x1a\n" + b"\x00" * (30 * 1024 * 1024))
    assert str(refused.value) == TOO_LARGE
    assert "larger than 2 MB" in TOO_LARGE


def test_the_size_limit_is_2_mb_exactly():
    just_over = png() + b"\x00" * (LOGO_MAX_BYTES - len(png()) + 1)
    with pytest.raises(BrandingError, match="larger than 2 MB"):
        process_logo(just_over)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(6000, 5000, id="30-megapixels-under-pillows-own-limit"),
        pytest.param(10_000, 10_000, id="100-megapixels-pillow-warns"),
        pytest.param(20_000, 20_000, id="400-megapixels-pillow-refuses"),
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(width, height):
    bomb = png_header_only(width, height)
    assert len(bomb) < 100
    with pytest.raises(BrandingError) as refused:
        process_logo(bomb)
    assert str(refused.value) == TOO_MANY_PIXELS


# --- Logos accepted and cleaned ----------------------------------------------------------------------


def test_a_png_comes_back_as_a_png_with_its_hash():
    logo = process_logo(png((120, 40)))
    assert logo.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert logo.sha256 == hashlib.sha256(logo.png).hexdigest()
    assert (logo.width, logo.height) == (120, 40)
    image = opened(logo.png)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (120, 40))
    assert image.getpixel((0, 0)) == (31, 78, 121)


def test_a_jpeg_is_accepted_and_re_encoded_as_png():
    logo = process_logo(jpeg((200, 100)))
    image = opened(logo.png)
    assert image.format == "PNG"
    assert image.size == (200, 100)
    assert image.mode == "RGB"


def test_a_cmyk_jpeg_becomes_rgb():
    image = opened(process_logo(jpeg((60, 30), mode="CMYK")).png)
    assert (image.format, image.mode) == ("PNG", "RGB")


def test_metadata_is_stripped_and_the_photo_turned_upright():
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Maker"  # Make
    exif[0x0131] = "Secret Software"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    source = jpeg((200, 100), exif=exif)
    assert b"Secret Camera Maker" in source

    logo = process_logo(source)

    assert b"Secret" not in logo.png
    image = opened(logo.png)
    assert image.size == (100, 200)  # upright, as the camera meant
    assert not image.getexif()
    assert image.info == {}  # no exif, icc_profile, dpi or text


def test_png_text_chunks_icc_profiles_and_dpi_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person <secret@example.org>")
    info.add_itxt("Comment", "Secret comment", zip=True)
    source = png((50, 50), pnginfo=info, dpi=(300, 300), icc_profile=b"secret icc profile bytes")
    assert b"Secret Person" in source

    logo = process_logo(source)

    assert b"Secret" not in logo.png and b"secret" not in logo.png
    image = opened(logo.png)
    assert image.info == {}
    assert image.text == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        pytest.param((1600, 1200), (400, 300), id="tall-limited-by-height"),
        pytest.param((3200, 400), (800, 100), id="wide-limited-by-width"),
        pytest.param((900, 300), (800, 267), id="a-little-too-wide"),
        pytest.param((400, 120), (400, 120), id="small-stays-small"),
        pytest.param((10, 10), (10, 10), id="tiny-is-not-enlarged"),
    ],
)
def test_a_large_logo_is_downsized_to_fit_800_by_300(size, expected):
    logo = process_logo(png(size))
    assert (logo.width, logo.height) == expected
    assert opened(logo.png).size == expected


def test_transparency_is_kept():
    rgba = opened(process_logo(png((40, 40), mode="RGBA", colour=(0, 0, 0, 0))).png)
    assert rgba.mode == "RGBA" and rgba.getpixel((1, 1))[3] == 0
    palette = Image.new("P", (40, 40), 0)
    out = io.BytesIO()
    palette.save(out, format="PNG", transparency=0)
    assert opened(process_logo(out.getvalue()).png).mode == "RGBA"


def test_the_same_upload_gives_the_same_bytes():
    source = noisy_png((300, 200))
    assert process_logo(source) == process_logo(source)


def test_a_processed_logo_is_accepted_again_unchanged():
    first = process_logo(jpeg((900, 600)))
    again = process_logo(first.png)
    assert again.png == first.png


def test_logo_data_uri_and_preview_width():
    logo = process_logo(png((800, 100)))
    uri = logo_data_uri(logo.png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == logo.png
    assert preview_width(logo.png) == 240
    assert preview_width(process_logo(png((100, 300))).png) == 30
    assert preview_width(process_logo(png((50, 20))).png) == 50
