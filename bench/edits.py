"""Benchmark 8: upload cost of an edit: four ~4 MB PNG inputs per call.

Clients in one run against the fake (which answers every edit with one small fixed PNG, so
the figure is the upload): ``ours`` (``AsyncImageClient.edit`` with the four inputs as bytes),
``sdk`` (``openai.AsyncOpenAI().images.edit`` with the same files as tuples), ``httpx`` (a raw
``httpx.AsyncClient.post`` of the same multipart body, ``json.loads`` + ``b64decode`` of the
answer) and ``httpx+sha256`` (the same post with the inputs' SHA-256 computed in a worker thread
beside it: what ``ours`` does for provenance, so the distance between the two httpx rows is
the hashing's). Interleaved rounds; ``hash_ms`` is the hashing alone. Then the loop stall: a
5 ms ticker beside ``ours`` editing four PIL images (encoded to PNG, hashed and sent) and four
byte strings.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import io
import json
import time
from typing import Any

from ._common import FAKE_KEY, emit, fake_process, summary
from ._images import image_bytes, image_file
from ._ticker import Ticker

MODEL = "gpt-image-2"
SIDE = 1400  # ~4 MB of noisy PNG each


async def measure(base_url: str, inputs: list[bytes], *, rounds: int) -> dict[str, Any]:
    import httpx
    import openai
    from PIL import Image

    from comet_widgets import AsyncImageClient

    names = [f"input-{i}.png" for i in range(len(inputs))]
    async with contextlib.AsyncExitStack() as stack:
        ours = await stack.enter_async_context(
            AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0)
        )
        sdk = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=base_url, max_retries=0, timeout=600)
        stack.push_async_callback(sdk.close)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=600))

        async def call_ours() -> int:
            generation = await ours.edit("winter", image=inputs, model=MODEL)
            return len(generation.images)

        async def call_sdk() -> int:
            files = [(n, data, "image/png") for n, data in zip(names, inputs, strict=True)]
            answer: Any = await sdk.images.edit(image=files, prompt="winter", model=MODEL)
            return len([base64.b64decode(item.b64_json) for item in answer.data or []])

        def hash_inputs() -> list[str]:
            return [hashlib.sha256(data).hexdigest() for data in inputs]

        async def call_httpx_hashed() -> int:
            hashing = asyncio.ensure_future(asyncio.to_thread(hash_inputs))
            try:
                return await call_httpx()
            finally:
                await hashing

        async def call_httpx() -> int:
            files = [("image[]", (n, d, "image/png")) for n, d in zip(names, inputs, strict=True)]
            response = await http.post(
                f"{base_url}/images/edits",
                data={"model": MODEL, "prompt": "winter"},
                files=files,
                headers={"Authorization": f"Bearer {FAKE_KEY}"},
            )
            response.raise_for_status()
            return len(
                [base64.b64decode(i["b64_json"]) for i in json.loads(response.content)["data"]]
            )

        calls = {
            "ours": call_ours,
            "sdk": call_sdk,
            "httpx": call_httpx,
            "httpx+sha256": call_httpx_hashed,
        }
        for call in calls.values():
            await call()  # warm: connections, imports
        times: dict[str, list[float]] = {name: [] for name in calls}
        order = list(calls)
        for number in range(rounds):
            for name in order if number % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                if await calls[name]() != 1:
                    raise RuntimeError(f"{name}: expected one image")
                times[name].append((time.perf_counter() - started) * 1000)

        hash_ms = []
        for _ in range(max(1, rounds // 4)):
            started = time.perf_counter()
            hash_inputs()
            hash_ms.append((time.perf_counter() - started) * 1000)

        pil_inputs = [Image.open(io.BytesIO(data)).convert("RGB") for data in inputs]
        stalls: dict[str, list[float]] = {"PIL images": [], "bytes": []}
        for _ in range(max(1, rounds // 2)):
            for label, given in (("PIL images", pil_inputs), ("bytes", inputs)):
                async with Ticker().running() as ticker:
                    await ours.edit("winter", image=list(given), model=MODEL)
                stalls[label].append(ticker.max_gap_ms)
    return {
        "rounds": rounds,
        "inputs": len(inputs),
        "input_bytes": [len(data) for data in inputs],
        "ms": {name: summary(values) for name, values in times.items()},
        "hash_ms": summary(hash_ms),
        "max_stall_ms": {name: summary(values) for name, values in stalls.items()},
    }


def run(*, smoke: bool = False) -> dict[str, Any]:
    inputs = [image_bytes(SIDE, grain=8.0, seed=seed) for seed in (11, 12, 13, 14)]
    # The fake answers every edit with one tiny PNG: the figure is the upload.
    with fake_process(image_file(16)) as base_url:
        return asyncio.run(measure(base_url, inputs, rounds=1 if smoke else 20))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
