"""A bare Starlette endpoint returning fixed bytes from memory: the ceiling for a cached read.

`BARE_BODIES` names a JSON file {path: body} written by the benchmark (the API's own bytes).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODIES = {
    path: body.encode()
    for path, body in orjson.loads(Path(os.environ["BARE_BODIES"]).read_bytes()).items()
}


async def serve(request: Request) -> Response:
    return Response(BODIES[request.url.path], media_type="application/json")


app = Starlette(routes=[Route(path, serve) for path in BODIES])
