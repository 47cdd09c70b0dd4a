"""Secret values for the local cloud and the tests only. Production reads real ones from SSM."""

LOCAL_SECRETS: dict[str, str] = {
    "ip-hash-key": "local-only-ip-hash-key-not-for-production",
}
