"""Generated identity documents for tests and the MRZ accuracy script: zones built from fields
(with valid or deliberately wrong check digits), rendered in OCR-B onto card or passport-page
images at several resolutions, rotations, blurs and noise levels, plus text and scanned PDFs.
Nothing is fetched from anywhere; the OCR-B font comes from Debian's ``fonts-ocr-b``."""

from __future__ import annotations

import io
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from kycvault.domain.mrz import FILLER, Layout, check_digit

OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
# A holder's photo for generated identity pages: Grace Hopper's official US Navy portrait
# (a work of the US government, in the public domain), 256 x 300.
PORTRAIT = Path(__file__).parent / "vectors" / "portrait.jpg"
# Card sizes in millimetres (ICAO 9303 part 3): TD1 is a bank card, TD3 a passport page.
_SIZES_MM = {
    Layout.TD1: (85.6, 54.0),
    Layout.TD2: (105.0, 74.0),
    Layout.TD3: (125.0, 88.0),
    Layout.MRVA: (120.0, 80.0),
    Layout.MRVB: (105.0, 74.0),
}
_WIDTH = {Layout.TD1: 30, Layout.TD2: 36, Layout.TD3: 44, Layout.MRVA: 44, Layout.MRVB: 36}


@dataclass(frozen=True)
class Person:
    layout: Layout
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date
    sex: str
    expiry_date: date
    optional_data: str = ""
    # Names of check digits to make wrong on purpose.
    broken: frozenset[str] = field(default_factory=frozenset)


def _yymmdd(value: date) -> str:
    return value.strftime("%y%m%d")


def _pad(text: str, width: int) -> str:
    return text.replace(" ", FILLER).ljust(width, FILLER)[:width]


def _digit(name: str, data: str, person: Person, *, empty_filler: bool = False) -> str:
    right = FILLER if empty_filler and set(data) <= {FILLER} else check_digit(data)
    if name in person.broken:
        return str((int(right) + 1) % 10) if right.isdigit() else "1"
    return right


def _names(person: Person, width: int) -> str:
    return _pad(f"{person.surname}{FILLER * 2}{person.given_names}", width)


def mrz_lines(person: Person) -> list[str]:
    """The zone of ``person`` in its layout, as ICAO 9303 writes it."""
    width = _WIDTH[person.layout]
    code = _pad(person.document_code, 2)
    number = _pad(person.document_number, 9)
    dob, expiry = _yymmdd(person.birth_date), _yymmdd(person.expiry_date)
    n_check = _digit("document_number", number, person)
    d_check = _digit("birth_date", dob, person)
    e_check = _digit("expiry_date", expiry, person)
    if person.layout is Layout.TD1:
        optional = _pad(person.optional_data, 15)
        line1 = code + person.issuing_state + number + n_check + optional
        line2 = dob + d_check + person.sex + expiry + e_check + person.nationality + FILLER * 11
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        line2 += _digit("composite", composite, person)
        return [line1, line2, _names(person, 30)]
    line1 = code + person.issuing_state + _names(person, width - 5)
    head = number + n_check + person.nationality + dob + d_check + person.sex + expiry + e_check
    if person.layout is Layout.TD3:
        optional = _pad(person.optional_data, 14)
        body = head + optional + _digit("optional_data", optional, person, empty_filler=True)
        return [line1, body + _digit("composite", body[0:10] + body[13:20] + body[21:43], person)]
    if person.layout is Layout.TD2:
        body = head + _pad(person.optional_data, 7)
        return [line1, body + _digit("composite", body[0:10] + body[13:20] + body[21:35], person)]
    return [line1, head + _pad(person.optional_data, width - 28)]


_SURNAMES = ["ERIKSSON", "MUSTERMANN", "DUPONT", "OKAFOR", "NAKAMURA", "SILVA", "KOWALSKI"]
_SURNAMES += ["VAN DER BERG", "OCONNOR", "ABDULLAH", "JENSEN", "ROSSI", "GARCIA LOPEZ", "KIM"]
_GIVEN = ["ANNA MARIA", "ERIKA", "JEAN PIERRE", "CHIOMA", "HIROSHI", "JOAO", "PIOTR", "LIAM"]
_GIVEN += ["SOFIA", "AHMED", "KARIN", "GIULIA", "MIGUEL ANGEL", "MIN JUN", "OLGA"]
_STATES = ["UTO", "D<<", "FRA", "NGA", "JPN", "BRA", "POL", "NLD", "IRL", "ARE", "DNK", "GBR"]


def random_person(rng: random.Random, layout: Layout, **overrides: object) -> Person:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    state = rng.choice(_STATES)
    code = {Layout.TD1: "ID", Layout.TD2: "I<", Layout.TD3: "P<"}.get(layout, "V<")
    person = Person(
        layout=layout,
        document_code=code,
        issuing_state=state,
        surname=rng.choice(_SURNAMES),
        given_names=rng.choice(_GIVEN),
        document_number="".join(rng.choice(alphabet) for _ in range(rng.choice((8, 9)))),
        nationality=state,
        birth_date=date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        sex=rng.choice("MF"),
        expiry_date=date(rng.randint(2027, 2036), rng.randint(1, 12), rng.randint(1, 28)),
        optional_data="".join(rng.choice("0123456789") for _ in range(rng.choice((0, 6, 7)))),
    )
    return replace(person, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Degradation:
    rotate: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian radius in pixels at the rendered resolution
    noise: float = 0.0  # standard deviation of added grey noise (0-255 scale)
    jpeg_quality: int | None = None
    # Printed and scanned again (0-1): uneven light, paper grain, ink spread or starved, the
    # resolution lost to a coarser scan.
    print_scan: float = 0.0


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(OCR_B), size)


def document_image(
    person: Person,
    *,
    dpi: int = 300,
    degrade: Degradation = Degradation(),
    image_format: str = "PNG",
    seed: int = 0,
    exif_software: str | None = None,
    portrait: bool = True,
    printed_number: str | None = None,
    scene: bool = False,
) -> bytes:
    """A card or passport page with the holder's photo (``PORTRAIT``; a grey box without
    ``portrait``), a few printed fields with the document number (``printed_number`` when
    the page is to print another than its zone) and the zone. With ``scene``, what real
    documents add, for the reading benchmark: a guilloche security pattern over the whole
    card (the zone too), a photo-like block in place of the photo, the document number and
    nationality among the printed fields."""
    rng = random.Random(seed)
    w_mm, h_mm = _SIZES_MM[person.layout]
    width, height = round(w_mm / 25.4 * dpi), round(h_mm / 25.4 * dpi)
    image = Image.new("RGB", (width, height), (236, 233, 222))
    draw = ImageDraw.Draw(image)
    unit = width / 100
    # Where the zone begins (see below): a scene keeps the portrait and the fields above it.
    above = height - dpi * (5 + 4.3 * (3 if person.layout is Layout.TD1 else 2) + 1.5) / 25.4
    if scene:
        _guilloche(draw, width, height, rng)
        photo = (round(4 * unit), round(12 * unit), round(30 * unit), round(min(48 * unit, above)))
        _portrait(image, photo, rng)
    else:
        draw.rectangle((4 * unit, 12 * unit, 30 * unit, 48 * unit), fill=(182, 184, 194))
        if portrait:
            # The holder's photo fills the box's width, above the zone (a card is short).
            holder = Image.open(PORTRAIT).convert("RGB")
            scale = min(26 * unit / holder.width, (above - 12 * unit) / holder.height)
            holder = holder.resize((round(holder.width * scale), round(holder.height * scale)))
            image.paste(holder, (round(4 * unit), round(12 * unit)))
    label = _font(max(8, round(2.2 * unit)))
    value = _font(max(10, round(3.0 * unit)))
    title = {Layout.TD3: "PASSPORT", Layout.MRVA: "VISA", Layout.MRVB: "VISA"}
    draw.text((4 * unit, 3 * unit), title.get(person.layout, "IDENTITY CARD"), (30, 30, 80), value)
    shown = printed_number or person.document_number  # another: a page altered by hand
    if not scene:
        # The number printed for people too (the visual inspection zone), top right.
        draw.text((64 * unit, 3 * unit), "DOCUMENT NO", (100, 100, 100), label)
        draw.text((64 * unit, 5.8 * unit), shown, (10, 10, 10), value)
    rows = [
        ("SURNAME", person.surname),
        ("GIVEN NAMES", person.given_names),
        ("DATE OF BIRTH", person.birth_date.strftime("%d %m %Y")),
        ("DATE OF EXPIRY", person.expiry_date.strftime("%d %m %Y")),
    ]
    if scene:
        rows[2:2] = [("DOCUMENT NO", shown), ("NATIONALITY", person.nationality)]
    step = 8 * unit if not scene else (above - 12 * unit - 5 * unit) / (len(rows) - 1)
    for i, (key, text) in enumerate(rows):
        y = 12 * unit + i * step
        if scene:  # the rows share the room above the zone
            label = _font(max(8, round(min(2.2 * unit, 0.32 * step))))
            value = _font(max(10, round(min(3.0 * unit, 0.45 * step))))
        draw.text((34 * unit, y), key, (100, 100, 100), label)
        draw.text((34 * unit, y + min(2.8 * unit, 0.42 * step)), text, (10, 10, 10), value)
    lines = mrz_lines(person)
    # ICAO: 10 characters per 25.4 mm (a pitch of 2.54 mm), lines 4-5 mm apart, 6 mm from
    # the bottom edge.
    pitch = dpi / 10
    probe = _font(100)
    size = round(100 * pitch / (probe.getlength(FILLER * 10) / 10))
    font = _font(size)
    line_gap = dpi * 4.3 / 25.4
    left = (width - pitch * len(lines[0])) / 2
    bottom = height - dpi * 5 / 25.4
    for i, line in enumerate(lines):
        y = bottom - (len(lines) - i) * line_gap
        draw.text((left, y), line, (0, 0, 0), font)
    if degrade.blur:
        image = image.filter(ImageFilter.GaussianBlur(degrade.blur))
    if degrade.noise:
        noise = Image.effect_noise(image.size, degrade.noise).convert("RGB")
        image = Image.blend(image, noise, 0.25)
    if degrade.print_scan:
        image = _print_and_scan(image, degrade.print_scan, rng)
    if degrade.rotate:
        image = image.rotate(
            degrade.rotate,
            resample=Image.Resampling.BICUBIC,
            expand=True,
            fillcolor=(250, 250, 250),
        )
    buffer = io.BytesIO()
    options: dict[str, object] = {"dpi": (dpi, dpi)}
    if exif_software is not None:
        exif = Image.Exif()
        exif[0x0131] = exif_software
        options["exif"] = exif.tobytes()
    if image_format == "JPEG":
        options["quality"] = degrade.jpeg_quality or 92
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _guilloche(draw: ImageDraw.ImageDraw, width: int, height: int, rng: random.Random) -> None:
    """Interlaced sine curves in pale inks, as security printing lays under every field."""
    colours = [(rng.randint(170, 215), rng.randint(170, 215), rng.randint(180, 225)) for _ in "ab"]
    stroke = max(1, round(width / 900))
    for n in range(rng.randint(14, 26)):
        amplitude = rng.uniform(0.02, 0.12) * height
        period = rng.uniform(0.08, 0.4) * width
        phase = rng.uniform(0, 2 * math.pi)
        base = rng.uniform(-0.1, 1.1) * height
        points = [
            (x, base + amplitude * math.sin(2 * math.pi * x / period + phase + n * 0.3))
            for x in range(0, width + 8, 6)
        ]
        draw.line(points, fill=colours[n % 2], width=stroke)


def _portrait(image: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A photo-like block: a shaded background, a head and shoulders, sensor noise."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    tone = rng.randint(120, 200)
    photo = Image.linear_gradient("L").resize((w, h)).point(lambda v: tone - 40 + v * 60 // 255)
    portrait = Image.merge("RGB", (photo, photo, photo.point(lambda v: min(255, v + 15))))
    draw = ImageDraw.Draw(portrait)
    skin = (rng.randint(120, 230), rng.randint(90, 190), rng.randint(70, 160))
    draw.ellipse((w * 0.05, h * 0.68, w * 0.95, h * 1.3), fill=(40, 45, 60))
    draw.ellipse((w * 0.28, h * 0.18, w * 0.72, h * 0.7), fill=skin)
    draw.ellipse((w * 0.25, h * 0.1, w * 0.75, h * 0.35), fill=(rng.randint(10, 90),) * 3)
    portrait = portrait.filter(ImageFilter.GaussianBlur(max(1, w / 120)))
    noise = Image.effect_noise((w, h), 30).convert("RGB")
    image.paste(Image.blend(portrait, noise, 0.12), (left, top))


def _print_and_scan(image: Image.Image, strength: float, rng: random.Random) -> Image.Image:
    """The page printed and scanned again: light falling off across it, paper grain, ink
    spread (heavier strokes) or starved (lighter ones), and the detail a coarser scan loses."""
    width, height = image.size
    light = Image.linear_gradient("L").resize((width, height))
    turn = rng.choice((None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180))
    light = light.transpose(turn).resize((width, height)) if turn is not None else light
    low = 255 - round(60 * strength)
    light = light.point(lambda v: low + (255 - low) * v // 255)
    grain = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 40 * strength)
    grain = grain.resize((width, height), Image.Resampling.BICUBIC)
    gray = ImageChops.multiply(image, Image.merge("RGB", (light, light, light)))
    image = Image.blend(gray, Image.merge("RGB", (grain, grain, grain)), 0.12 * strength)
    gamma = rng.uniform(0.7, 1.5)
    image = image.point(lambda v: round(255 * (v / 255) ** gamma))
    factor = rng.uniform(1 - 0.3 * strength, 1.0)
    if factor < 0.97:
        small = (max(1, round(width * factor)), max(1, round(height * factor)))
        image = image.resize(small, Image.Resampling.BILINEAR).resize(
            (width, height), Image.Resampling.BICUBIC
        )
    return image


def _pdf_object(number: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % number + body + b"\nendobj\n"


def text_pdf(
    lines: Sequence[str],
    *,
    producer: str = "kycvault tests",
    creator: str | None = None,
    created: str = "D:20260101120000Z",
    modified: str | None = None,
    incremental_update: bool = False,
) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, one line each)."""
    stream = b"BT /F1 11 Tf 50 780 Td 14 TL "
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream += b"(" + escaped.encode("latin-1") + b") Tj T* "
    stream += b"ET"
    data = zlib.compress(stream)
    info = f"/Producer ({producer}) /CreationDate ({created})"
    if creator:
        info += f" /Creator ({creator})"
    if modified:
        info += f" /ModDate ({modified})"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< {info} >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += _pdf_object(number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    if incremental_update:
        # An appended revision that replaces the info dictionary, as editors save changes.
        offset = len(out)
        out += _pdf_object(6, f"<< {info} /ModDate (D:20990101000000Z) >>".encode())
        new_xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n6 1\n%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /Prev %d >>\n" % xref
        out += b"startxref\n%d\n%%%%EOF\n" % new_xref
    return bytes(out)


def scanned_pdf(image: bytes, *, dpi: int = 300) -> bytes:
    """A PDF with no text layer: the image as its only page (what a scanner makes)."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).convert("RGB").save(buffer, "PDF", resolution=float(dpi))
    return buffer.getvalue()
