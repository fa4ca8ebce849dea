"""The HTTP side of :mod:`graphae.serving`: errors of a request, the body limit, the server.

FastAPI, starlette and uvicorn (the ``serve`` extra) are imported inside the functions that
use them, never at import time.
"""

import math
import signal
import socket
from collections.abc import Callable
from typing import Any

from graphae.errors import GraphaeError, InputError, MissingDependencyError

SERVE_HINT = 'serving a model needs FastAPI and uvicorn: pip install "graphae[serve]"'


class RequestError(GraphaeError):
    """A request the service cannot answer: its status, the field at fault and why."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.field = field
        self.message = message


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets a 413 answer, unread."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def limited() -> Any:  # a chunked body, counted as it arrives
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                from starlette.exceptions import HTTPException

                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body too large: at most {self.limit} bytes"

    async def _too_large(self, send: Any) -> None:
        from fastapi.responses import JSONResponse

        body = JSONResponse({"error": f"body: {self._message()}", "field": "body"}, 413)
        await send({"type": "http.response.start", "status": 413, "headers": body.raw_headers})
        await send({"type": "http.response.body", "body": body.body})


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    log: bool = True,
    on_listen: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGTERM or SIGINT, then shut down cleanly and return.

    ``on_listen`` is called with the service's URL once the port is open (``port=0``:
    a free port, which the URL names).

    Raises:
        MissingDependencyError: Without uvicorn.
        InputError: If ``host:port`` cannot be listened on (in use, not an address here).
    """
    try:
        import uvicorn
    except ImportError as err:
        raise MissingDependencyError(SERVE_HINT) from err
    sock = _listen(host, port)
    if on_listen is not None:
        shown = f"[{host}]" if ":" in host else host
        on_listen(f"http://{shown}:{sock.getsockname()[1]}")
    config = uvicorn.Config(
        app,
        log_level="info" if log else "warning",
        access_log=log,
        timeout_graceful_shutdown=30,  # seconds the requests under way get to finish after SIGTERM
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; a handler of
    # ours receives it, so a stop asked for by a signal ends the command with status 0.
    stops = (signal.SIGTERM, signal.SIGINT)
    before = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise InputError(f"--host {host}: not an address of this machine ({err.strerror or err})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise InputError(f"--port {port}: cannot listen on {host}:{port} ({err.strerror or err})") from None
    sock.set_inheritable(True)
    return sock


def field_of(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python converts to text
        return f"an integer of about {value.bit_length() * 0.30103:.0f} digits"
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and numpy scalars as Python values (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
