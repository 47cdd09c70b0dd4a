"""Request bodies of the sign-in and /me routes (ACC-1..8)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.http import email_address

EmailAddress = email_address()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionChoice(Body):
    session: Literal["bearer", "cookie"] = "bearer"


class CodeRequest(Body):
    email: EmailAddress


class CodeRedeem(SessionChoice):
    email: EmailAddress
    code: str = Field(min_length=4, max_length=16, pattern=r"^\s*\d+\s*$")
    birth_date: date | None = None


class PasswordSignUp(Body):
    email: EmailAddress
    password: str = Field(min_length=1, max_length=1024)
    birth_date: date | None = None


class PasswordSignIn(SessionChoice):
    email: EmailAddress
    password: str = Field(min_length=1, max_length=1024)


class GoogleSignIn(SessionChoice):
    id_token: str = Field(min_length=10, max_length=8192)
    nonce: str = Field(min_length=8, max_length=128)
    birth_date: date | None = None


class TelegramWidget(Body):
    widget: dict[str, str | int] = Field(max_length=20)


class TelegramSignIn(SessionChoice, TelegramWidget):
    pass


class ProfileChange(Body):
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{3,30}$")
    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    theme: Literal["light", "dark", "system"] | None = None
    notifications: dict[str, bool] | None = None


class NewApiKey(Body):
    name: str | None = Field(default=None, max_length=60)
    scopes: list[str] | None = Field(default=None, max_length=10)


class PasswordChange(Body):
    current_password: str | None = Field(default=None, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
