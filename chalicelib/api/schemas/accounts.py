"""Request bodies of the sign-in and /me routes (ACC-1..8)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.http import email_address
from chalicelib.api.schemas.common import Reply

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


# -- responses -------------------------------------------------------------------------------
class SessionIssued(Reply):
    """Bearer mode carries `token`; cookie mode sets the cookies and carries `csrf_token`."""

    user_id: str
    expires_at: str
    session: Literal["bearer", "cookie"]
    token: str | None = None
    csrf_token: str | None = None


class GoogleNonce(Reply):
    nonce: str


class SignedOut(Reply):
    status: str
    sessions_closed: int | None = None


class Preferences(Reply):
    language: str | None
    theme: str | None
    notifications: dict[str, bool]


class ProcessingState(Reply):
    restricted: bool
    objections: list[str]


class Me(Reply):
    user_id: str
    email: str
    email_verified: bool
    username: str | None
    display_name: str | None
    picture: str | None
    created_at: str
    password_set: bool
    telegram_linked: bool
    preferences: Preferences
    processing: ProcessingState


class ApiKeyCreated(Reply):
    """The key itself is in this response only (ACC-4)."""

    id: str
    key: str
    name: str | None
    prefix: str
    scopes: list[str]


class ApiKeyView(Reply):
    id: str
    name: str | None
    prefix: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked: bool


class ApiKeys(Reply):
    api_keys: list[ApiKeyView]


class ApiKeyRevoked(Reply):
    id: str
    revoked: bool


class UsageDay(Reply):
    day: str
    requests: int
    units: int
    volume_bytes: int


class ApiKeyUsage(Reply):
    id: str
    usage: list[UsageDay]
