"""The portal's entry page (the full portal is built on top of this router)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_HOME = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>tradecover</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
code{background:#f2f2f2;padding:.1rem .3rem}a{color:#0645ad}</style></head>
<body><h1>tradecover</h1>
<p>Assurance-crédit : limites de crédit, encours, sinistres. / Trade credit insurance platform.</p>
<ul><li><a href="/docs">API documentation (OpenAPI)</a></li>
<li><code>POST /api/v1/auth/token</code> with a demo login to get a token.</li></ul>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return HTMLResponse(_HOME)
