"""Retrain the OCR-B glyph model the reader ships (``src/kycvault/adapters/reading/mrz_glyphs.npz``).

Training cells are cut exactly as the reader cuts them: generated documents (every layout,
random people whose names and numbers use the whole alphabet, 150-350 dpi, and a random mix
of rotation, blur, noise, JPEG, print-and-scan, guilloche backgrounds and portraits) go
through the reader's own path (full-page OCR, the band finder, the zone read at each scale),
and every cell the band finder places is cropped by ``mrz_classifier.cell_images``, once as
placed and once moved and scaled a little, and labelled with the generator's truth. Lines
whose placed characters disagree with the truth on more than a quarter of their cells (a grid
that slipped) are left out. A network of two dense layers (scikit-learn's MLP) is fitted on
the cells, with ink and contrast varied further, and its weights saved for numpy.

    pip install -e '.[train]'
    python bench/train_mrz_glyphs.py                      # 700 documents (~25 min, 2 cores)
    python bench/train_mrz_glyphs.py --images 100 --out /tmp/glyphs.npz

Seeds 1000 and up make the documents; the accuracy bench (``bench/mrz_accuracy.py``) uses
others. The same seed gives the same model.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import string
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.samples import Degradation, Person, document_image, mrz_lines, random_person

from kycvault.adapters.reading import extract, mrz_band, mrz_classifier, mrz_glyphs
from kycvault.domain.mrz import Layout

TODAY = date(2026, 6, 1)
SEED = 1000
_LAYOUTS = (Layout.TD1, Layout.TD2, Layout.TD3, Layout.MRVA, Layout.MRVB)
_ALNUM = string.ascii_uppercase + string.digits
_FILLER_SHARE = 0.2  # fillers are most of a zone: keep this share of them
_AGREEMENT = 0.75

Cells = NDArray[np.float32]


def _word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(low, high)))


def document(index: int, seed: int) -> tuple[Person, bytes, str]:
    rng = random.Random(seed * 100_003 + index)
    layout = rng.choice(_LAYOUTS)
    person = random_person(rng, layout)
    if rng.random() < 0.6:  # names beyond the generator's list: every letter in every place
        person = replace(
            person,
            surname=_word(rng, 2, 12),
            given_names=" ".join(_word(rng, 2, 8) for _ in range(rng.randint(1, 2))),
        )
    person = replace(
        person,
        document_number="".join(rng.choice(_ALNUM) for _ in range(rng.choice((8, 9)))),
        optional_data="".join(rng.choice(_ALNUM) for _ in range(rng.choice((0, 5, 7)))),
    )
    dpi = rng.randint(150, 350)
    scale = dpi / 300
    degrade = Degradation(
        rotate=rng.uniform(-4, 4) if rng.random() < 0.4 else 0.0,
        blur=rng.uniform(0.5, 2.2) * scale if rng.random() < 0.35 else 0.0,
        noise=rng.uniform(10, 55) if rng.random() < 0.3 else 0.0,
        jpeg_quality=rng.randint(25, 90) if rng.random() < 0.4 else None,
        print_scan=rng.uniform(0.3, 1.0) if rng.random() < 0.4 else 0.0,
    )
    image_format = "JPEG" if degrade.jpeg_quality else "PNG"
    content = document_image(
        person,
        dpi=dpi,
        degrade=degrade,
        image_format=image_format,
        seed=seed * 7919 + index,
        scene=rng.random() < 0.8,
    )
    return person, content, "image/jpeg" if image_format == "JPEG" else "image/png"


def collect(index: int, seed: int) -> tuple[Cells, NDArray[np.int64]]:
    """The labelled cells of one generated document, read the reader's way."""
    person, content, content_type = document(index, seed)
    truth = mrz_lines(person)
    rng = random.Random(seed * 31 + index)
    zones: list[list[tuple[Cells, list[str]]]] = []
    current: list[tuple[Cells, list[str]]] = []
    original_zone = mrz_band.zone_cells
    original_glyphs = mrz_glyphs.with_glyph_evidence

    def glyphs(image: Any, line: Any, cells: Any, origin: float, pitch: float) -> Any:
        width = len(cells)
        tops = [cell[0][0] if cell else "<" for cell in cells]
        placed = mrz_classifier.cell_images(image, line, width, origin, pitch)
        current.append((placed, tops))
        moved = [
            (rng.uniform(-0.12, 0.12), rng.uniform(-0.1, 0.1), rng.uniform(0.9, 1.1))
            for _ in range(width)
        ]
        shifted = mrz_classifier.cell_images(image, line, width, origin, pitch, jitter=moved)
        current.append((shifted, tops))
        return original_glyphs(image, line, cells, origin, pitch)

    def zone(lines: Any, image: Any = None) -> Any:
        current.clear()
        found = original_zone(lines, image)
        if found is not None and image is not None:
            zones.append(list(current))
        return found

    # Cells are placed the way the reader places them without a model, whatever model ships.
    patches = [
        (mrz_classifier, "model", lambda: None),
        (mrz_band, "zone_cells", zone),
        (mrz_band, "with_glyph_evidence", glyphs),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        extract.read(content, content_type, ocr=True, today=TODAY, timeout=60)
    except Exception as exc:  # a document the reader cannot read teaches nothing
        print(f"#{index}: {type(exc).__name__}", file=sys.stderr)
    finally:
        for module, name, value in originals:
            setattr(module, name, value)
    images: list[Cells] = []
    labels: list[int] = []
    for recorded in zones:
        if len(recorded) != 2 * len(truth):
            continue
        for number, (cells, tops) in enumerate(recorded):
            line = truth[number // 2]
            if len(tops) != len(line):
                continue
            if sum(a == b for a, b in zip(tops, line, strict=True)) < _AGREEMENT * len(line):
                continue
            for cell, char in zip(cells, line, strict=True):
                if char == "<" and rng.random() > _FILLER_SHARE:
                    continue
                images.append(cell)
                labels.append(mrz_classifier.SYMBOLS.index(char))
    if not images:
        empty = np.zeros((0, mrz_classifier.CELL_HEIGHT, mrz_classifier.CELL_WIDTH), np.float32)
        return empty, np.zeros(0, np.int64)
    return np.stack(images), np.array(labels, dtype=np.int64)


def _collect_one(job: tuple[int, int]) -> tuple[Cells, NDArray[np.int64]]:
    return collect(*job)


def augmented(cells: Cells, rng: np.random.Generator) -> Cells:
    """Ink heavier or lighter, contrast lower, noise: what the crops alone may not show."""
    n = len(cells)
    gamma = rng.uniform(0.6, 1.6, size=(n, 1, 1)).astype(np.float32)
    contrast = rng.uniform(0.6, 1.1, size=(n, 1, 1)).astype(np.float32)
    noise = rng.normal(0, 1, size=cells.shape).astype(np.float32) * rng.uniform(
        0, 0.12, size=(n, 1, 1)
    ).astype(np.float32)
    out: Cells = np.clip(cells**gamma * contrast + noise, 0.0, 1.0).astype(np.float32)
    return out


def fit(
    cells: Cells, labels: NDArray[np.int64], seed: int, hidden: int, most: int
) -> dict[str, Any]:
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(seed)
    # Half the cells as cut, half with their ink varied, at most ``most`` in all.
    half = rng.permutation(len(cells))[: most // 2]
    x = np.concatenate([cells[half], augmented(cells[half], rng)]).reshape(2 * len(half), -1)
    y = np.concatenate([labels[half], labels[half]])
    mean = x.mean(axis=0)
    scale = 1.0 / (x.std(axis=0) + 0.05)
    network = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=3e-4,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=60,
        early_stopping=True,
        validation_fraction=0.08,
        n_iter_no_change=6,
        random_state=seed,
    )
    network.fit((x - mean) * scale, y)
    print(f"fitted: {network.n_iter_} epochs, validation {network.best_validation_score_:.4f}")
    classes = list(network.classes_)
    w2 = np.zeros((hidden, len(mrz_classifier.SYMBOLS)), np.float32)
    b2 = np.full(len(mrz_classifier.SYMBOLS), -30.0, np.float32)  # a symbol never seen
    for column, label in enumerate(classes):
        w2[:, label] = network.coefs_[1][:, column]
        b2[label] = network.intercepts_[1][column]
    return {
        "mean": mean.astype(np.float16),
        "scale": scale.astype(np.float16),
        "w1": network.coefs_[0].astype(np.float16),
        "b1": network.intercepts_[0].astype(np.float32),
        "w2": w2.astype(np.float16),
        "b2": b2,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=700)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--most", type=int, default=160_000, help="training cells at most")
    parser.add_argument("--cells", type=Path, help="keep (or reuse) the collected cells here")
    parser.add_argument("--out", type=Path, default=mrz_classifier.WEIGHTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.cells is not None and args.cells.exists():
        with np.load(args.cells) as saved:
            cells, labels = saved["cells"], saved["labels"]
    else:
        jobs = [(index, args.seed) for index in range(args.images)]
        parts: list[tuple[Cells, NDArray[np.int64]]] = []
        with multiprocessing.Pool(args.jobs) as pool:
            # In order, so the cells (and the model) do not depend on which worker was faster.
            for done, part in enumerate(pool.imap(_collect_one, jobs), start=1):
                parts.append(part)
                if done % 50 == 0:
                    print(f"{done} documents read, {time.monotonic() - started:.0f} s", flush=True)
                    if args.cells is not None:  # what is read so far, to look at early
                        np.savez(
                            args.cells.with_suffix(".partial.npz"),
                            cells=np.concatenate([c for c, _ in parts]),
                            labels=np.concatenate([lab for _, lab in parts]),
                        )
        cells = np.concatenate([c for c, _ in parts])
        labels = np.concatenate([lab for _, lab in parts])
        if args.cells is not None:
            np.savez_compressed(args.cells, cells=cells, labels=labels)
    counts = np.bincount(labels, minlength=len(mrz_classifier.SYMBOLS))
    print(f"{len(cells)} cells in {time.monotonic() - started:.0f} s; fewest per symbol: ", end="")
    print(", ".join(f"{mrz_classifier.SYMBOLS[k]} {counts[k]}" for k in np.argsort(counts)[:5]))
    weights = fit(cells, labels, args.seed, args.hidden, args.most)
    np.savez_compressed(args.out, **weights)
    print(f"saved {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
