"""Processors erase too (GEN-5, PAY-6): one erasure step asks every processor that holds a copy of
the person to drop it, before the records that name those copies are deleted.

- Payments: each customer the person's payment records name has its subscriptions cancelled
  (nobody is billed after erasure) and is deleted at the payment provider (it holds the e-mail).
- Model providers: each request the person's generation jobs name is deleted where the provider
  can delete it (fal: payloads and output files), or acknowledged under its documented retention.

Every call is idempotent at the processor, so a retried step asks again and gets the same answer.
A call not acknowledged fails the step (Step Functions retries it, then marks the erasure failed).
What the step returns, and the receipt keeps, names processors and actions, never a reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.domain.ports.rights import PersonalItem
from chalicelib.domain.rights import erasure, paging
from chalicelib.domain.rights.context import RightsContext

CUSTOMER_FIELD = "customer_id"  # payment records: the payment provider's customer
PROVIDER_FIELD, REQUEST_FIELD = "provider", "provider_request_id"  # generation jobs


class ProcessorRefused(RuntimeError):
    """A processor did not acknowledge an erasure call; the step fails and is retried."""


def payment_rail_of(item: PersonalItem) -> str:
    """The rail a payment record came through: other rails' payments are keyed `<rail>:<order>`,
    Stripe's by its own ids (PAY-5)."""
    payment_id = item.key[0].partition("#")[2]
    rail, separator, _ = payment_id.partition(":")
    return rail if separator else "stripe"


def references(items: Iterable[PersonalItem]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """((payment rail, customer), (model provider, request id)) named by the person's records."""
    customers: set[tuple[str, str]] = set()
    requests: set[tuple[str, str]] = set()
    for item in items:
        customer = item.fields.get(CUSTOMER_FIELD)
        if isinstance(customer, str) and customer:
            customers.add((payment_rail_of(item), customer))
        provider, request_id = item.fields.get(PROVIDER_FIELD), item.fields.get(REQUEST_FIELD)
        if isinstance(provider, str) and isinstance(request_id, str) and provider and request_id:
            requests.add((provider, request_id))
    return customers, requests


def summary(acks: Iterable[ProcessorAck], before: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Acknowledgements counted per processor and action, for the receipt (no references), added to
    the counts of earlier pages (`before`)."""
    counted = Counter((ack.processor, ack.action, ack.ok) for ack in acks)
    for row in before:
        counted[(row["processor"], row["action"], row["ok"])] += int(row["count"])
    return [
        {"processor": processor, "action": action, "count": count, "ok": ok}
        for (processor, action, ok), count in sorted(counted.items())
    ]


def erase_at_processors(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """A page of the person's records per invocation (P3): the references it names are erased. A
    customer named on two pages is asked twice; the processors answer the same."""
    run = ctx.rights.get_run(event["erasure_id"])
    if run is None:
        return {"acknowledged": [], "more": False}
    position = paging.Position.of(event, "processors")
    page = erasure.next_page(ctx, run, "processors", position, [erasure.owned(ctx, run)])
    customers, requests = references(page.items)
    acks: list[ProcessorAck] = []
    for rail, customer in sorted(customers):
        payments = ctx.payment_processor(rail)
        acks += [payments.cancel_subscriptions(customer), payments.delete_customer(customer)]
    for provider, request_id in sorted(requests):
        acks.append(ctx.model_provider(provider).delete_request(request_id))
    refused = [ack for ack in acks if not ack.ok]
    if refused:
        raise ProcessorRefused(f"{len(refused)} processor calls were not acknowledged: {summary(refused)}")
    return position.result(page, acknowledged=summary(acks, position.prior.get("acknowledged") or ()))
