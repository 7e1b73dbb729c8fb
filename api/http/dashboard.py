"""The web dashboard at `/`: a static page and its assets, shipped in the package.

The page (`static/index.html`, `static/dashboard.js`) reads the REST routes and
follows the WebSocket; the chart is uPlot (MIT, vendored in `static/vendor/uplot/`
with its license, from the npm package). No build step, no CDN.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ("ROUTES", "STATIC")

STATIC = Path(__file__).parent / "static"


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html")


ROUTES = (
    Route("/", index, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
)
