"""The AWS deployment: a CDK v2 app built from the one resource description (infra/description.py)."""
