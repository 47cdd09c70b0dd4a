"""The synthesized template is valid CloudFormation: cfn-lint reports no errors."""

from __future__ import annotations


def test_cfn_lint_reports_no_errors(template):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template.path, config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
