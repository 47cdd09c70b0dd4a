"""Secret values for the local cloud and the tests only. Production reads real ones from Secrets Manager."""

from infra.local_signing import local_signing

_CHAIN, _KEY, _ = local_signing()

LOCAL_SECRETS: dict[str, str] = {
    "ip-hash-key": "local-only-ip-hash-key-not-for-production",
    "stripe-api-key": "sk_test_local_only_not_a_real_stripe_key",
    "stripe-webhook-secret": "whsec_local_only_not_a_real_webhook_secret",
    "login-code-key": "local-only-login-code-key-not-for-production",
    "telegram-bot-token": "123456:local-only-telegram-bot-token",
    "google-client-id": "local-only-client.apps.googleusercontent.com",
    "fal-api-key": "local-only-fal-key-id:local-only-fal-key-secret",
    "fal-admin-api-key": "local-only-fal-admin-key-id:local-only-fal-admin-key-secret",  # payload deletion (GEN-5)
    "fal-user-id": "local-fal-account",  # the account the embedded provider signs callbacks as
    "replicate-api-token": "r8_local_only_not_a_real_replicate_token",
    "replicate-webhook-secret": "whsec_bG9jYWwtb25seS1yZXBsaWNhdGUtd2ViaG9vay1rZXk=",
    "runpod-api-key": "local-only-runpod-api-key",
    "polar-access-token": "polar_oat_local_only_not_a_real_token",
    "polar-webhook-secret": "whsec_bG9jYWwtb25seS1wb2xhci13ZWJob29rLXNpZ25pbmcta2V5",
    "lemonsqueezy-api-key": "local-only-lemonsqueezy-api-key",
    "lemonsqueezy-webhook-secret": "local-only-lemonsqueezy-signing-secret",
    "telegram-webhook-secret": "local-only-telegram-webhook-secret-token",
    # GEN-4: the content-credentials signer (a local CA and its signing certificate; infra/local_signing.py)
    "c2pa-signing-chain": _CHAIN,
    "c2pa-signing-key": _KEY,
}
