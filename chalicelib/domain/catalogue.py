"""The catalogue of credit packs and plans, and what each job kind costs (PAY-2, PAY-5).

Apart from the billing service: a submit needs only the job costs, so a cold Lambda serving one
loads this, not the payment rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from chalicelib import errors
from chalicelib.profile.schema import JobKind

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "billing_catalogue.toml"


@dataclass(frozen=True)
class Offer:
    """A product as one rail sells it: the rail's reference, and its price there (PAY-5)."""

    rail: str
    ref: str
    amount: int  # minor units; Telegram Stars in whole Stars
    currency: str


@dataclass(frozen=True)
class Product:
    id: str
    kind: str  # pack | plan
    title: str
    credits: int  # per purchase (pack) or per billing period (plan)
    amount: int  # minor units
    currency: str
    price_id: str
    interval: str | None = None
    offers: tuple[Offer, ...] = ()  # how the other rails sell it (PAY-5)

    def offer(self, rail: str) -> Offer | None:
        return next((offer for offer in self.offers if offer.rail == rail), None)

    @property
    def mode(self) -> str:
        return "payment" if self.kind == "pack" else "subscription"

    def public(self) -> dict:
        view = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "credits": self.credits,
            "amount": self.amount,
            "currency": self.currency,
        }
        if self.interval:
            view["interval"] = self.interval
        return view


@dataclass(frozen=True)
class Catalogue:
    products: dict[str, Product]
    tool_costs: dict[JobKind, int] = dataclass_field(default_factory=dict)  # credits per job of each kind (PAY-2)

    def tools(self, kinds: list[JobKind]) -> list[dict]:
        return [{"kind": str(kind), "credits": self.tool_costs[kind]} for kind in kinds if kind in self.tool_costs]

    def get(self, product_id: str) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise errors.NotFound("No such pack or plan.") from None

    def by_price(self, price_id: str | None) -> Product | None:
        return next((p for p in self.products.values() if p.price_id == price_id), None)

    def by_offer(self, rail: str, ref: str | None) -> tuple[Product, Offer] | None:
        for product in self.products.values():
            offer = product.offer(rail)
            if offer is not None and ref is not None and offer.ref == ref:
                return product, offer
        return None


def load_catalogue(stage: str, path: Path = CATALOGUE_FILE) -> Catalogue:
    """The catalogue of `stage`; the shipped one from its compiled module (`make profiles`)."""
    if path == CATALOGUE_FILE:
        from chalicelib.billing_catalogue import CATALOGUE as data
    else:
        import tomllib

        data = tomllib.loads(path.read_text(encoding="utf-8"))
    products: dict[str, Product] = {}
    for kind, section, credits_field in (("pack", "packs", "credits"), ("plan", "plans", "credits_per_period")):
        for product_id, spec in data.get(section, {}).items():
            price_id = spec["price_ids"].get(stage)
            if price_id is None:
                continue  # not sold in this stage
            products[product_id] = Product(
                id=product_id,
                kind=kind,
                title=spec["title"],
                credits=int(spec[credits_field]),
                amount=int(spec["amount"]),
                currency=spec["currency"],
                price_id=price_id,
                interval=spec.get("interval"),
                offers=_offers(spec, stage, product_id),
            )
    tools = {JobKind(kind): int(credits) for kind, credits in data.get("tools", {}).items()}
    return Catalogue(products, tools)


def _offers(spec: dict, stage: str, product_id: str) -> tuple[Offer, ...]:
    """The product's offers on the other rails in this stage: Polar products and Lemon Squeezy
    variants are priced like the catalogue entry; Telegram Stars sell at their own Stars price."""
    offers = []
    for rail, field in (("polar", "polar_products"), ("lemonsqueezy", "lemonsqueezy_variants")):
        ref = (spec.get(field) or {}).get(stage)
        if ref:
            offers.append(Offer(rail, str(ref), int(spec["amount"]), spec["currency"]))
    if spec.get("telegram_stars"):
        offers.append(Offer("telegram_stars", product_id, int(spec["telegram_stars"]), "XTR"))
    return tuple(offers)
