"""The portal's offers pages: the insurers' offers recorded for an insured, and their comparison."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
