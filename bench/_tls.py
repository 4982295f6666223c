"""The fake API over TLS on loopback: section 1's https rows (the default base URL is https).

``self_signed`` makes a certificate for 127.0.0.1 at run time (``openssl req``); every client
trusts it through ``trusting(cert)``, one ``ssl.SSLContext``.
``python -m bench._tls PORT CERT KEY IMAGE_FILE`` serves the fake with uvicorn over TLS in its
own process, like ``fake_process`` does over plain http.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from pathlib import Path


def self_signed(directory: Path) -> tuple[Path, Path] | None:
    """``(cert, key)`` PEM files for 127.0.0.1 made by ``openssl req`` in ``directory``, or
    None without ``openssl``."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts ``cert`` (and verifies it, host name included)."""
    return ssl.create_default_context(cafile=str(cert))


def main(argv: list[str]) -> None:
    import uvicorn

    from comet_widgets.testing import FakeAPI

    port, cert, key, image = argv
    uvicorn.run(
        FakeAPI(image_bytes=Path(image).read_bytes()),
        host="127.0.0.1",
        port=int(port),
        ssl_certfile=cert,
        ssl_keyfile=key,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
