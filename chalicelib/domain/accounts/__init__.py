"""Accounts: sign-in by every method a profile enables, sessions, API keys, profile, abuse controls.

Rules are functions over the accounts ports (chalicelib/domain/ports/accounts.py); routes reach
them through one `AccountsService` (service.py). Nothing here touches AWS.
"""
