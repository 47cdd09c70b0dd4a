"""The data subject's rights: export, erasure, the requests ledger, consent, contact, minors."""
