"""The synthesized template is valid CloudFormation: cfn-lint reports no errors."""

from __future__ import annotations


def test_cfn_lint_reports_no_errors(template):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template.path, config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []


def test_synthesis_leaves_the_callers_environment_alone(template):
    """Chalice writes the stage's variables into os.environ while packaging; they must not leak
    into the process that synthesized (tests, the local cloud)."""
    assert template.environment_changes == set()
