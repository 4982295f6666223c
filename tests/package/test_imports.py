"""Import hygiene, checked in fresh interpreters: the package and its client stay light.

``import comet_widgets`` must not pull in Jupyter, Pillow's plugins, numpy or pandas; the HTTP
client must not import Jupyter even after a whole generation (url and b64 mode).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # every test here starts a Python interpreter

JUPYTER = ("ipywidgets", "IPython", "traitlets")
HEAVY = ("PIL.PngImagePlugin", "PIL.JpegImagePlugin", "PIL.WebPImagePlugin", "numpy", "pandas")
WIDGET_MODULES = (
    "comet_widgets.widget._panel",
    "comet_widgets.widget._gallery",
    "comet_widgets.widget._loop",
)


# A whole generation (one b64 image, one url image) through httpx.MockTransport, with a PNG
# built by hand so that nothing but the client itself can import Pillow.
GENERATE_OFFLINE = """
import asyncio, base64, struct, zlib
import httpx
from comet_widgets.client._client import AsyncImageClient


def chunk(kind, data):
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


IHDR = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
PIXELS = zlib.compress(b"\\x00" * 14)
PNG = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", IHDR) + chunk(b"IDAT", PIXELS)
PNG += chunk(b"IEND", b"")
URL = "http://cdn.localhost/files/0.png"


def handler(request):
    if str(request.url) == URL:
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    data = [{"b64_json": base64.b64encode(PNG).decode()}, {"url": URL}]
    return httpx.Response(200, json={"created": 1, "data": data})


async def main():
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = AsyncImageClient(api_key="k", base_url="http://localhost/v1", http_client=http)
    async with client:
        gen = await client.generate("a boat", model="dall-e-2", n=2)
        assert gen.ok and [i.format for i in gen.images] == ["png", "png"], gen
        await client.list_models()
    await http.aclose()


asyncio.run(main())
"""


def modules_after(code: str) -> set[str]:
    """The names in sys.modules after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def test_the_probe_sees_imports() -> None:
    """Guards the test itself: an import done by the code shows up."""
    assert "PIL.PngImagePlugin" in modules_after("from PIL import PngImagePlugin")


def test_import_comet_widgets_is_light() -> None:
    modules = modules_after(
        "import comet_widgets; comet_widgets.MODELS; comet_widgets.build_payload"
    )
    assert loaded(modules, JUPYTER) == []
    assert loaded(modules, HEAVY) == []
    assert loaded(modules, WIDGET_MODULES) == []
    assert "comet_widgets.client._client" not in modules


def test_the_errors_and_catalogue_need_nothing_heavy() -> None:
    modules = modules_after(
        """
        from comet_widgets import InvalidParameterError, build_payload
        try:
            build_payload("a boat", model="dall-e-3", size="800x600")
        except InvalidParameterError:
            pass
        """
    )
    assert loaded(modules, ("PIL", "httpx", *JUPYTER)) == []


def test_the_client_imports_no_jupyter_even_after_a_generate() -> None:
    modules = modules_after(GENERATE_OFFLINE)
    assert "comet_widgets.client._client" in modules
    assert loaded(modules, JUPYTER) == []
    assert loaded(modules, WIDGET_MODULES) == []
    # the bytes are sniffed, not decoded: Pillow's PNG plugin reads the header, nothing more
    assert "PIL.PngImagePlugin" in modules
    assert loaded(modules, ("numpy", "pandas")) == []
