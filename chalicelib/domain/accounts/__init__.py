"""Accounts: sign-in by every method a profile enables, sessions, API keys, profile, abuse controls.

Functions here take stores, gateways and the profile as arguments; nothing here touches AWS.
"""
