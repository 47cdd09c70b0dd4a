"""OPS-2 on fakes, for every profile: a significant version is owed to the people who signed up
before it, listed until acknowledged, answered with re-consent where it adds a consent purpose, and
e-mailed once per person by the paged fan-out wherever the profile gives notice by e-mail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import metrics
from chalicelib.domain.rights import consent
from chalicelib.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.profile.loader import load_profile
from tests.conftest import PROFILES
from tests.fakes.rights import rights_world
from tests.support.asl import run_machine
from tests.support.policy_versions import V2, consent_category, later_version, with_new_consent_purpose

BEFORE = datetime(2026, 6, 1, tzinfo=UTC)  # signed up under the shipped version
AFTER = datetime(2027, 2, 1, tzinfo=UTC)  # signed up once V2 was in force


def _world(profile, page_size=1000):
    world = rights_world(profile)
    object.__setattr__(world.service.context, "page_size", page_size)
    world.users.add("early", "early@example.org", created_at=BEFORE)
    world.users.add("late", "late@example.org", created_at=AFTER)
    return world


@pytest.fixture(params=PROFILES)
def significant(request, tmp_path):
    """(profile name, V2 adding a category processed on consent, the purpose it asks)."""
    name = request.param
    return name, with_new_consent_purpose(tmp_path, name), consent_category(load_profile(name)).value


def test_ops2_a_significant_version_is_listed_for_whoever_signed_up_before_it(significant):
    _, profile, purpose = significant
    world = _world(profile)
    (notice,) = world.service.notices("early")
    assert notice["version"] == V2
    assert notice["effective"] == V2
    assert notice["decisions"] == [purpose]
    assert "New data collected: Newsletter" in notice["changes"]
    assert world.service.notices("late") == []  # the version was in force when they signed up


def test_ops2_the_shipped_profiles_owe_nobody_a_notice():
    for name in PROFILES:
        world = _world(load_profile(name))
        assert world.service.notices("early") == []


def test_ops2_a_minor_version_is_published_not_notified(tmp_path):
    for name in PROFILES:
        profile = later_version(tmp_path / name, name, replace=(('title = "', 'title = "Our '),))
        assert [c.kind for c in profile.history[-1].changes] == ["wording"]
        world = _world(profile)
        assert world.service.notices("early") == []
        with pytest.raises(Conflict, match="nothing significant"):
            world.service.announce_policy_version("operator:ops", V2)


def _new_processor(root, name):
    text = '\n[[processors]]\nname = "Example Mail Ltd"\npurpose = "E-mail"\ncountry = "Japan"\n'
    return later_version(root, name, append=text + 'receives = ["account"]\nkind = "email"\n')


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_the_in_app_list_follows_the_profiles_channels(name, tmp_path):
    """Without a consent to ask, a notice is listed in the app only where the policy says in-app."""
    profile = _new_processor(tmp_path, name)
    world = _world(profile)
    listed = world.service.notices("early")
    if "in_app" in profile.policy.change_notice:
        assert [n["version"] for n in listed] == [V2]
        assert listed[0]["decisions"] == []
    else:
        assert listed == []


def test_ops2_acknowledging_needs_an_answer_for_each_new_purpose_and_records_it(significant):
    _, profile, purpose = significant
    world = _world(profile)
    with pytest.raises(InvalidInput, match="Answer each consent"):
        world.service.acknowledge_notice("early", V2, {})
    with pytest.raises(InvalidInput):
        world.service.acknowledge_notice("early", V2, {purpose: True, "something_else": True})
    assert world.service.notices("early") != []  # nothing half-written
    answer = world.service.acknowledge_notice("early", V2, {purpose: True})
    assert answer["consents"][purpose] is True
    (recorded,) = world.records.consent_history["early"]
    assert (recorded.purpose, recorded.granted, recorded.policy_version) == (purpose, True, V2)
    assert world.service.notices("early") == []
    with pytest.raises(Conflict, match="already acknowledged"):
        world.service.acknowledge_notice("early", V2, {purpose: True})
    with pytest.raises(NotFound):
        world.service.acknowledge_notice("late", V2, {purpose: True})
    with pytest.raises(NotFound):
        world.service.acknowledge_notice("early", "1999-01-01", {})


def test_ops2_a_new_purpose_counts_as_not_granted_until_the_person_answers(significant):
    """A consent given before the version took effect (to what was asked then) does not carry over."""
    _, profile, purpose = significant
    world = _world(profile)
    world.records.add_consent("early", purpose, True, "earlier", BEFORE)
    assert purpose not in world.service.consents("early")["consents"]
    if purpose == "marketing":
        with pytest.raises(Forbidden, match="No marketing consent"):
            consent.send_marketing(world.context, "early", "News", "Hello")
    world.service.acknowledge_notice("early", V2, {purpose: False})
    assert world.service.consents("early")["consents"][purpose] is False
    assert world.service.user_requests("early") == []  # a decline is not a withdrawal
    world.service.record_consent("early", purpose, True)
    assert world.service.consents("early")["consents"][purpose] is True


# -- the e-mail fan-out ----------------------------------------------------------------------------
def _run(world):
    """The notices state machine (infra/asl/notices.asl.json) over the service's task methods, and
    every execution one hands off to, in turn. Returns the last execution's final task's result."""
    service = world.service
    tasks = {
        "notices_mail_page": service.notices_mail_page,
        "notices_finish": service.notices_finish,
        "notices_fail": service.notices_fail,
    }
    inputs = [{"version": V2}]
    while inputs:
        final = run_machine("notices", tasks, inputs.pop())
        handed = [payload for _, payload in world.announcements.started if "mailed" in payload]
        if final["mailed"].get("handed_off"):
            inputs.append(handed[-1])
    return final["finished"]


def test_ops2_the_fan_out_mails_each_person_owed_the_notice_once(significant):
    name, profile, _ = significant
    world = _world(profile, page_size=2)
    for index in range(5):
        world.users.add(f"u{index}", f"u{index}@example.org", created_at=BEFORE)
    seen: list[float] = []
    metrics.sinks.append(lambda doc: seen.extend(doc.get("PolicyNoticesSent", [])))
    try:
        if "email" not in profile.policy.change_notice:
            with pytest.raises(Conflict, match="not by e-mail"):
                world.service.announce_policy_version("operator:ops", None)
            return
        started = world.service.announce_policy_version("operator:ops", None)
        assert started["version"] == V2
        ((_, payload),) = world.announcements.started
        assert payload == {"version": V2}  # no person in the workflow's input
        result = _run(world)
    finally:
        metrics.sinks.pop()
    mailed = sorted(to for to, _, _ in world.outbox.sent)
    assert mailed == sorted(["early@example.org"] + [f"u{i}@example.org" for i in range(5)])
    assert result == {"status": "sent", "sent": 6}
    assert sum(seen) == 6
    assert all(V2 in subject for _, subject, _ in world.outbox.sent)
    assert world.notices.get_announcement(V2).cursors == {}
    assert [a.action for a in world.records.actions] == ["announce_policy_version", "policy_notices_sent"]
    # A redelivered page, or the whole run again, mails nobody twice.
    assert world.service.notices_mail_page({"version": V2})["sent"] == 0
    assert len(world.outbox.sent) == 6
    with pytest.raises(Conflict, match="already"):
        world.service.announce_policy_version("operator:ops", V2)


def test_ops2_a_failed_send_is_retried_and_mails_nobody_twice(tmp_path):
    """SES fails mid-page: the page raises (the state machine retries it); the retry mails the rest."""
    profile = with_new_consent_purpose(tmp_path, "kaleipix")
    world = _world(profile)
    for index in range(3):
        world.users.add(f"u{index}", f"u{index}@example.org", created_at=BEFORE)
    real_send, calls = world.outbox.send, []

    def flaky(to, subject, text):
        calls.append(to)
        if len(calls) == 3:
            raise RuntimeError("SES throttled")
        return real_send(to, subject, text)

    world.outbox.send = flaky
    world.service.announce_policy_version("operator:ops", V2)
    with pytest.raises(RuntimeError):
        world.service.notices_mail_page({"version": V2})
    world.service.notices_mail_page({"version": V2})  # the retry, same input
    mailed = [to for to, _, _ in world.outbox.sent]
    assert sorted(mailed) == sorted({"early@example.org", "u0@example.org", "u1@example.org", "u2@example.org"})
    assert len(mailed) == len(set(mailed))


def test_ops2_every_fan_out_page_reads_at_most_the_page_size(tmp_path):
    profile = with_new_consent_purpose(tmp_path, "promptpixels")
    world = _world(profile, page_size=3)
    for index in range(10):
        world.users.add(f"u{index:02d}", f"u{index}@example.org", created_at=BEFORE)
    reads: list[int] = []
    page = world.notices.addressees_page

    def counted(cursor, limit):
        found = page(cursor, limit)
        reads.append(found.read)
        return found

    world.notices.addressees_page = counted
    world.service.announce_policy_version("operator:ops", V2)
    _run(world)
    assert max(reads) <= 3
    assert sum(reads) == 12
    assert len(world.outbox.sent) == 11


def test_ops2_the_announcement_keeps_the_cursors_of_two_pages_at_most_however_many_accounts(tmp_path):
    """The fan-out's cursors live on one item: kept for every page it would outgrow DynamoDB's
    400 KB item at a few thousand pages. Only this page's start (for a retry) and the next's stay."""
    profile = with_new_consent_purpose(tmp_path, "kaleipix")
    world = _world(profile, page_size=1)
    for index in range(8):
        world.users.add(f"u{index}", f"u{index}@example.org", created_at=BEFORE)
    world.service.announce_policy_version("operator:ops", V2)
    kept: list[int] = []
    event: dict = {"version": V2}
    while True:
        event = {"version": V2, "mailed": world.service.notices_mail_page(event)}
        cursors = world.notices.get_announcement(V2).cursors
        kept.append(sum(len(pages) if isinstance(pages, dict) else 1 for pages in cursors.values()))
        if not event["mailed"]["more"]:
            break
    assert len(kept) >= 8
    assert max(kept) <= 2, kept
    assert len(world.outbox.sent) == 9


def test_ops2_an_execution_hands_off_to_the_next_after_its_pages_and_nobody_is_mailed_twice(tmp_path, monkeypatch):
    """Step Functions keeps 25,000 history events per execution: after PAGES_PER_EXECUTION pages the
    page task starts the next execution from the next page (named by it: a retry starts no other)."""
    from chalicelib.domain.rights import notices

    monkeypatch.setattr(notices, "PAGES_PER_EXECUTION", 2)
    world = _world(with_new_consent_purpose(tmp_path, "pixera"), page_size=2)
    for index in range(7):
        world.users.add(f"u{index}", f"u{index}@example.org", created_at=BEFORE)
    world.service.announce_policy_version("operator:ops", V2)
    assert _run(world) == {"status": "sent", "sent": 8}
    successors = [(name, payload) for name, payload in world.announcements.started if "mailed" in payload]
    assert [payload["mailed"]["page"] for _, payload in successors] == [2, 4]
    assert all(name.endswith(f"-from-{payload['mailed']['page']}") for name, payload in successors)
    mailed = [to for to, _, _ in world.outbox.sent]
    assert len(mailed) == len(set(mailed)) == 8
    assert [a.action for a in world.records.actions].count("policy_notices_sent") == 1
