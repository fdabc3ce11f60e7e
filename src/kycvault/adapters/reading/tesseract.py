"""Tesseract, called as a program: the image goes in on stdin and the result comes out on
stdout, so no plaintext is ever written to a file. Each call has a wall-clock limit and one
OpenMP thread (the worker runs several documents side by side on few cores). Its environment
is the reader's allow-list, never the caller's whole one; it inherits the reader's confinement."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from kycvault.adapters.reading.sandbox import child_environment

MRZ_WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


class TesseractError(Exception):
    """Tesseract is missing, failed or ran out of time; the message says which."""


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def center_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def center_y(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    box: Box
    conf: float
    line: tuple[int, int, int]  # block, paragraph, line


@dataclass(frozen=True, slots=True)
class Symbol:
    """One character Tesseract placed, with its alternatives (best first)."""

    box: Box
    choices: tuple[tuple[str, float], ...]


def available(binary: str = "tesseract") -> bool:
    return shutil.which(binary) is not None


def _out_of_reach(binary: str) -> bool:
    """A configured path that exists but that this user may not run (or even look at)."""
    try:
        os.stat(binary)
    except PermissionError:
        return True
    except OSError:
        return False
    return os.sep in binary


def _run(png: bytes, args: list[str], *, binary: str, timeout: float) -> str:
    if not available(binary):
        if _out_of_reach(binary):
            # The worker found it; the reader's own user (see sandbox.py) may not run it.
            raise TesseractError("tesseract cannot be run by the reading process's user")
        raise TesseractError("tesseract is not installed (Debian package tesseract-ocr)")
    try:
        done = subprocess.run(
            [binary, "stdin", "stdout", *args],
            input=png,
            capture_output=True,
            timeout=timeout,
            env=child_environment(os.environ),
            close_fds=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TesseractError(f"tesseract took longer than {timeout:g} s") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise TesseractError(f"tesseract failed: {message[-1] if message else done.returncode}")
    return done.stdout.decode(errors="replace")


def words(
    png: bytes, *, psm: int = 3, binary: str = "tesseract", timeout: float = 30
) -> list[Word]:
    """Every word Tesseract finds on a page, with its box and line (TSV output)."""
    out = _run(png, ["--psm", str(psm), "tsv"], binary=binary, timeout=timeout)
    recognised: list[Word] = []
    for row in out.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) != 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (int(v) for v in cols[6:10])
        recognised.append(
            Word(
                text=cols[11].strip(),
                box=Box(left, top, left + width, top + height),
                conf=float(cols[10]),
                line=(int(cols[2]), int(cols[3]), int(cols[4])),
            )
        )
    return recognised


def page_text(recognised: list[Word]) -> str:
    """The words joined back into lines, in reading order."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word in recognised:
        lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))


def _title(element: ET.Element) -> dict[str, str]:
    parts = (element.get("title") or "").split(";")
    return {p.strip().split(" ", 1)[0]: p.strip().partition(" ")[2] for p in parts if p.strip()}


def symbol_lines(
    png: bytes, *, psm: int = 6, binary: str = "tesseract", timeout: float = 30
) -> list[list[Symbol]]:
    """Lines of characters with their boxes and alternatives (hOCR with character boxes and
    LSTM choices), read with the MRZ alphabet only."""
    args = [
        "--psm",
        str(psm),
        "-c",
        "hocr_char_boxes=1",
        "-c",
        "lstm_choice_mode=2",
        "-c",
        f"tessedit_char_whitelist={MRZ_WHITELIST}",
        "hocr",
    ]
    out = _run(png, args, binary=binary, timeout=timeout)
    body = out[out.find("<html") :] if "<html" in out else out
    try:
        root = ET.fromstring(body)  # noqa: S314 - Tesseract's own output, not client XML
    except ET.ParseError as exc:
        raise TesseractError(f"unreadable hOCR from tesseract: {exc}") from None
    lines: list[list[Symbol]] = []
    for line in root.iter():
        if line.get("class") != "ocr_line":
            continue
        symbols: list[Symbol] = []
        for element in line.iter():
            if element.get("class") != "ocrx_cinfo":
                continue
            title = _title(element)
            if "x_bboxes" not in title:
                continue
            left, top, right, bottom = (int(v) for v in title["x_bboxes"].split()[:4])
            main = (element.text or "").strip()
            if len(main) != 1:
                continue
            choices: list[tuple[str, float]] = [(main, float(title.get("x_conf", "0")))]
            symbols.append(Symbol(Box(left, top, right, bottom), tuple(choices)))
        lines.append(symbols)
        _attach_choices(line, symbols)
    return [line for line in lines if line]


def _attach_choices(line: ET.Element, symbols: list[Symbol]) -> None:
    """Tesseract writes each character's alternatives right after it, as a sibling group
    ``lstm_choices_*``; they are appended to that character's choices in place."""
    groups = [
        element
        for element in line.iter()
        if element.get("class") == "ocrx_cinfo" and (element.get("id") or "").startswith("lstm_")
    ]
    if len(groups) != len(symbols):
        return
    for index, group in enumerate(groups):
        extra = [
            ((child.text or "").strip(), float(_title(child).get("x_confs", "0")))
            for child in group
            if len((child.text or "").strip()) == 1
        ]
        main = symbols[index].choices[0]
        rest = tuple(choice for choice in extra if choice[0] != main[0])
        symbols[index] = Symbol(symbols[index].box, (main, *rest))
