"""What the rights work is done with: the ports it speaks to, the profile, and deployment values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.ports.billing import PaymentProvider
from chalicelib.domain.ports.content import ModelProvider
from chalicelib.domain.ports.rights import (
    AddressLimiter,
    Idempotency,
    Mailer,
    NoticeRecords,
    PersonalData,
    RightsRecords,
    Users,
    WorkflowStarter,
)
from chalicelib.profile.schema import Profile


@dataclass(frozen=True, slots=True)
class RightsContext:
    profile: Profile
    rights: RightsRecords
    personal: PersonalData
    accounts: Users
    email: Mailer
    export_workflow: WorkflowStarter
    erasure_workflow: WorkflowStarter
    notices: NoticeRecords  # OPS-2: receipts of policy change notices, announcements
    notices_workflow: WorkflowStarter  # OPS-2: the e-mail fan-out of a significant version
    idempotency: Idempotency
    limiter: AddressLimiter  # SEC-1: code guesses count against the address; exports a day per person
    code_key: Callable[[], str]  # the login codes' server secret, read on first use (DSR-7)
    subject_key: Callable[[], str]  # the secret of every identifier hash in a key (DSR-13)
    # GEN-5, PAY-6: the processors erasure asks to forget the person, connected on first use
    payment_processor: Callable[[str], PaymentProvider]  # by rail: cancel and delete a customer
    model_provider: Callable[[str], ModelProvider]  # by the name a generation job records
    grace_days_override: int | None = None
    public_base_url: str = ""
    page_size: int = 1000  # items or keys a paged workflow task reads per invocation (P3)
