"""Dependencies, built lazily on first use and cached: stores, gateways, the active profile.

Handlers ask here; domain functions receive what they need as arguments. Tests call `reset()`
after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.profile.schema import Profile


@lru_cache(maxsize=1)
def profile() -> Profile:
    from chalicelib.profile.loader import load_profile

    return load_profile(get_settings().profile)


@lru_cache(maxsize=1)
def bound_models() -> None:
    """Point the pynamodb models at this deployment's tables and the profile's retention."""
    from chalicelib.store.base import bind

    settings = get_settings()
    bind(resource_prefix=settings.resource_prefix, region=settings.region, profile=profile())


def reset() -> None:
    """Forget every cached dependency (tests, and the local cloud after changing settings)."""
    import sys

    from chalicelib.store import aws, secrets

    get_settings.cache_clear()
    aws.reset()
    secrets.clear_cache()
    module = sys.modules[__name__]
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)) and value is not get_settings:
            value.cache_clear()


@lru_cache(maxsize=1)
def email():
    from chalicelib.gateways.email import EmailGateway
    from chalicelib.store import aws

    return EmailGateway(client=aws.client("ses"), sender=get_settings().email_sender)


@lru_cache(maxsize=1)
def ledger():
    """The credit ledger (balances, entries, holds, payment records)."""
    from chalicelib.store.ledger import LedgerStore

    bound_models()
    return LedgerStore()


@lru_cache(maxsize=1)
def rights():
    from chalicelib.store.rights import RightsStore

    bound_models()
    return RightsStore()


@lru_cache(maxsize=1)
def personal_data():
    from chalicelib.store import aws
    from chalicelib.store.personal_data import PersonalDataStore

    return PersonalDataStore(dynamodb=aws.client("dynamodb"), s3=aws.client("s3"), settings=get_settings())


@lru_cache(maxsize=1)
def notices():
    """Policy change notices: receipts per person, announcements per version (OPS-2)."""
    from chalicelib.store.notices import NoticeStore

    bound_models()
    return NoticeStore()


@lru_cache(maxsize=4)
def workflow(kind: str):
    """The export, erasure, legal hold or notices state machine ("export" | "erasure" | "hold" | "notices")."""
    from chalicelib.store import aws
    from chalicelib.store.rights import WorkflowStarter

    settings = get_settings()
    arn = {
        "export": settings.export_state_machine_arn,
        "erasure": settings.erasure_state_machine_arn,
        "hold": settings.hold_state_machine_arn,
        "notices": settings.notices_state_machine_arn,
    }[kind]
    return WorkflowStarter(aws.client("stepfunctions"), arn)


@lru_cache(maxsize=1)
def accounts_store():
    from chalicelib.store.accounts import AccountsStore

    bound_models()
    return AccountsStore(subject_key=_ip_hash_key)


@lru_cache(maxsize=1)
def objects():
    from chalicelib.store import aws
    from chalicelib.store.objects import ObjectStore

    # The S3 client is built on first use: a submit or a status read never touches S3.
    return ObjectStore(client=lambda: aws.client("s3"), bucket_for=get_settings().bucket_name)


@lru_cache(maxsize=1)
def content():
    """Uploads, generation jobs, gallery images and share links; a job's credit hold is taken with it."""
    from chalicelib.store.content import ContentStore

    bound_models()
    return ContentStore(ledger=ledger())


@lru_cache(maxsize=1)
def content_service():
    """Uploads, generation, the gallery and share links."""
    from chalicelib.domain.content import ContentService

    return ContentService(
        records=content(),
        objects=objects(),
        holds=ledger(),
        provider=provider(),
        marker=marker(),
        profile=profile(),
        costs=catalogue().tool_costs,
        public_base_url=get_settings().public_base_url,
        # a job the bot asked for is answered in its chat when it ends; built only then
        watcher=telegram_bot if "telegram_stars" in payment_rails() else None,
    )


@lru_cache(maxsize=1)
def marker():
    """GEN-4: the C2PA signer, its certificate chain and key read from Secrets Manager on first use."""
    from chalicelib.gateways.marking import C2paMarker
    from chalicelib.store.secrets import secret

    return C2paMarker(chain=lambda: secret("c2pa-signing-chain"), key=lambda: secret("c2pa-signing-key"))


def _ip_hash_key() -> str:
    from chalicelib.store.secrets import secret

    return secret("ip-hash-key")


@lru_cache(maxsize=1)
def abuse_store():
    from chalicelib.store.abuse import AbuseStore

    bound_models()
    return AbuseStore()


@lru_cache(maxsize=1)
def rate_limiter():
    """`rate_limiter().check(route_class, ip)` raises errors.RateLimited past the route class's limit."""
    from chalicelib.domain.accounts.abuse import RateLimiter

    return RateLimiter(abuse_store(), _ip_hash_key)


@lru_cache(maxsize=1)
def accounts_service():
    """Sign-in, sessions, the authorizer, the profile and API keys (chalicelib/domain/accounts)."""
    from chalicelib.domain.accounts.service import AccountsService
    from chalicelib.store.secrets import secret

    return AccountsService(
        store=accounts_store(),
        abuse=abuse_store(),
        limiter=rate_limiter(),
        profile=profile(),
        secrets=secret,
        ip_key=_ip_hash_key,
        mail=email,
        hasher=password_hasher,
        google_verifier=google_verifier,
    )


@lru_cache(maxsize=1)
def rights_service():
    """Export, erasure, the requests ledger, consent, contact, operators and minors."""
    from chalicelib.domain.rights.context import RightsContext
    from chalicelib.domain.rights.service import RightsService
    from chalicelib.idempotency import PowertoolsIdempotency
    from chalicelib.store.secrets import secret

    settings = get_settings()
    context = RightsContext(
        profile=profile(),
        rights=rights(),
        personal=personal_data(),
        accounts=accounts_store(),
        email=email(),
        export_workflow=workflow("export"),
        erasure_workflow=workflow("erasure"),
        hold_workflow=workflow("hold"),
        notices=notices(),
        notices_workflow=workflow("notices"),
        idempotency=PowertoolsIdempotency(idempotency_store),
        limiter=rate_limiter(),
        code_key=lambda: secret("login-code-key"),
        subject_key=_ip_hash_key,
        payment_processor=customer_eraser,
        model_provider=provider_named,
        grace_days_override=settings.grace_days_override,
        public_base_url=settings.public_base_url,
        page_size=settings.page_items,
    )
    return RightsService(context)


def customer_eraser(rail: str):
    """What erasure asks to cancel a customer's subscriptions and delete it, on the rail it paid
    through (PAY-6)."""
    if rail == "stripe":
        return stripe()
    return rail_billing().rail(rail)  # every rail answers in the one ProcessorAck the receipt keeps


@lru_cache(maxsize=1)
def payments():
    """Payment records and their effect on the ledger."""
    from chalicelib.store.payments import PaymentStore

    return PaymentStore(ledger())


@lru_cache(maxsize=1)
def stripe():
    """Stripe itself, or the embedded emulator when settings point the API base at it."""
    from chalicelib.gateways.stripe_gateway import StripeGateway
    from chalicelib.store.secrets import secret

    return StripeGateway(
        api_key=secret("stripe-api-key"),
        webhook_secret=secret("stripe-webhook-secret"),
        api_base=get_settings().stripe_api_base,
    )


@lru_cache(maxsize=1)
def catalogue():
    """Credit packs and plans sold in this stage."""
    from chalicelib.domain.catalogue import load_catalogue

    return load_catalogue(get_settings().stage)


@lru_cache(maxsize=1)
def billing_service():
    """Credits and payments: checkout, Stripe fulfilment, refunds and disputes, the ledger page."""
    from chalicelib.domain.billing import BillingService

    return BillingService(
        ledger=ledger(),
        payments=payments(),
        provider=stripe,
        catalogue=catalogue(),
        public_base_url=get_settings().public_base_url,
        accounts=accounts_store(),
    )


@lru_cache(maxsize=1)
def payment_rails() -> tuple[str, ...]:
    """The rails the active profile's processors name: only these take payments (PAY-5)."""
    return tuple(profile().payment_rails)


@lru_cache(maxsize=1)
def telegram_bot():
    """The Kaleipix bot: it answers through the Telegram Stars rail's Bot API client and generates
    through the content service, as `POST /generations` does."""
    from chalicelib.domain.telegram_bot import STARS, TelegramBot
    from chalicelib.idempotency import PowertoolsIdempotency

    rails = rail_billing()
    return TelegramBot(
        accounts=accounts_store(),
        ledger=ledger(),
        rails=rails,
        messenger=rails.rail(STARS),
        content=content_service(),
        limiter=rate_limiter(),
        idempotency=PowertoolsIdempotency(idempotency_store),
        profile=profile(),
        public_base_url=get_settings().public_base_url,
    )


@lru_cache(maxsize=1)
def payments_http():
    """HTTP to the payment rails (tests swap in an in-process transport to their emulators)."""
    from chalicelib.gateways.providers.common import UrllibHttp

    return UrllibHttp()


@lru_cache(maxsize=1)
def rail_billing():
    """Polar, Lemon Squeezy and Telegram Stars, as far as the profile names them (PAY-5)."""
    from chalicelib.domain.payment_rails import RailBilling
    from chalicelib.gateways.payments import create_rail
    from chalicelib.store.secrets import secret

    settings = get_settings()
    bases = {
        "polar": settings.polar_api_base,
        "lemonsqueezy": settings.lemonsqueezy_api_base,
        "telegram_stars": settings.telegram_api_base,
    }

    def factory(name: str):
        return lambda: create_rail(
            name, http=payments_http(), secret=secret, base_url=bases[name], store_id=settings.lemonsqueezy_store_id
        )

    return RailBilling(
        payments=payments(),
        rails={name: factory(name) for name in payment_rails() if name != "stripe"},
        catalogue=catalogue(),
        public_base_url=settings.public_base_url,
    )


@lru_cache(maxsize=1)
def provider_http():
    """HTTP to the model provider (tests swap in an in-process transport to the embedded one)."""
    from chalicelib.gateways.providers.common import UrllibHttp

    return UrllibHttp()


@lru_cache(maxsize=1)
def provider():
    """The model provider adapter chosen by settings (fal | replicate | runpod)."""
    from chalicelib.gateways.providers import create_provider
    from chalicelib.store.secrets import secret

    settings = get_settings()
    return create_provider(settings.provider, http=provider_http(), secret=secret, base_url=settings.provider_base_url)


def provider_named(name: str):
    """The adapter of the provider a job recorded (GEN-5: erasure reaches it even after a switch)."""
    from chalicelib.gateways.providers import create_provider
    from chalicelib.store.secrets import secret

    if name == get_settings().provider:
        return provider()
    return create_provider(name, http=provider_http(), secret=secret, base_url=None)


@lru_cache(maxsize=1)
def password_hasher():
    """argon2id with the library's RFC 9106 defaults (ACC-2)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def google_verifier():
    """Google ID-token verifier; PIXELKEEP_GOOGLE_JWKS_URL points it at other keys (tests, local cloud)."""
    import os

    from chalicelib.gateways.google import GOOGLE_JWKS_URL, GoogleIdTokens
    from chalicelib.store.secrets import secret

    return GoogleIdTokens(secret("google-client-id"), os.environ.get("PIXELKEEP_GOOGLE_JWKS_URL") or GOOGLE_JWKS_URL)


@lru_cache(maxsize=1)
def idempotency_store():
    from chalicelib.store.idempotency import persistence_layer

    return persistence_layer()


@lru_cache(maxsize=1)
def incident_service():
    """The breach register, its notice clock and the notices (OPS-5)."""
    import boto3

    from chalicelib.domain.incidents import IncidentService
    from chalicelib.store.incidents import AccountAddresses, IncidentStore, StoredPeople

    bound_models()
    settings = get_settings()
    return IncidentService(
        records=IncidentStore(),
        personal=StoredPeople(
            dynamodb=boto3.client("dynamodb", region_name=settings.region),
            s3=boto3.client("s3", region_name=settings.region),
            settings=settings,
        ),
        audit=rights().audit,
        addresses=AccountAddresses(accounts_store()),
        mailer=email(),
        profile=profile(),
    )


@lru_cache(maxsize=1)
def drift_check():
    """What the profile requires of the deployment against what is deployed (OPS-8)."""
    from chalicelib.domain.drift import DriftCheck
    from chalicelib.store.deployment import DeployedAws
    from chalicelib.store.layout import expected_configuration

    return DriftCheck(expected_configuration(get_settings(), profile()), DeployedAws(), profile(), audit=rights())
