"""Dial-in's answers (the OpenAPI document's models)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DialInOut(BaseModel):
    number: str = Field(description="The number to call, as it is dialled (COMPANION_SIP_NUMBER)")
    pin: str = Field(description="The client's PIN: key it, then #", pattern=r"^[0-9]{6,12}$")
