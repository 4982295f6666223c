"""Deterministic test images: a noisy, photo-like 1024x1024 PNG of about 2 MB, cached on disk.

A real generated image compresses poorly (texture, grain); a flat test pattern would make every
byte-moving step look cheaper than it is. Smooth gradients and soft blobs with Gaussian grain
(sigma 8) give ~2.2 MB of PNG, the size of a real 1024x1024 answer. Made with numpy + Pillow from
a fixed seed and cached under ``bench/out/`` (gitignored).
"""

from __future__ import annotations

import io
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _render(size: int, grain: float, seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack(
        [
            128 + 100 * np.sin(6.0 * x + 2.0 * y),
            128 + 90 * np.cos(4.0 * y - 3.0 * x * y),
            128 + 80 * np.sin(9.0 * (x - 0.5) ** 2 + 7.0 * (y - 0.4) ** 2),
        ],
        axis=-1,
    )
    for _ in range(12):
        cx, cy, r = rng.random(3)
        colour = rng.random(3) * 255
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (0.02 + 0.1 * r) ** 2)[..., None]
        base = base * (1 - weight) + colour * weight
    pixels = np.clip(base + rng.normal(0, grain, size=(size, size, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def image_file(size: int = 1024, *, grain: float = 8.0, seed: int = 7) -> Path:
    """The path of the cached PNG (rendered on first use, ~0.5 s)."""
    path = OUT / f"noisy-{size}-g{grain:g}-s{seed}.png"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(_render(size, grain, seed))
        tmp.replace(path)
    return path


def image_bytes(size: int = 1024, *, grain: float = 8.0, seed: int = 7) -> bytes:
    """The PNG bytes of ``image_file``."""
    return image_file(size, grain=grain, seed=seed).read_bytes()


def small_png() -> bytes:
    """A tiny (16x16) PNG, for benchmarks of fixed per-request costs."""
    return image_bytes(16, grain=8.0, seed=7)
