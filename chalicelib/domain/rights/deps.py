"""What the rights workflows work with, handed in by the caller (handlers build it from wiring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.profile.schema import Profile


@dataclass(frozen=True)
class RightsDeps:
    profile: Profile
    rights: Any  # store.rights.RightsStore
    personal: Any  # store.personal_data.PersonalDataStore
    accounts: Any  # store.accounts.AccountsStore
    email: Any  # gateways.email.EmailGateway
    export_workflow: Any = None  # store.rights.WorkflowStarter
    erasure_workflow: Any = None
    ledger: Any = None  # store.ledger.LedgerStore: pseudonymize(user_id, pseudonym)
    grace_days_override: int | None = None
    public_base_url: str = ""
