"""Deterministic shop data for the example: customers and orders in PostgreSQL, products in
a CSV file, with the columns the SQL of ``resources/workflow.yaml`` reads. Prices are
money: exact decimals with two places, which the workflow reads as ``DECIMAL``.

Everything comes from one seeded ``random.Random``, so every start produces the same rows
and tests can count on them. A tenth of the customers never ordered (the customer 360 view
keeps them, with zero orders) and some e-mails carry capitals or surrounding spaces (the
ingest step lowercases and trims them).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SEED = 20250601
CUSTOMERS = 300
ORDERS = 3000
PRODUCTS = 40
FIRST_ORDER = datetime(2025, 3, 1, tzinfo=UTC)
ORDER_DAYS = 90
LANDING = Path("data/landing")
"""The ``landing`` depot's folder, relative to ``DATAOS_HOME`` (``resources/depots.yaml``)."""

_FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Radia", "Ken", "Hedy", "Guido"]
_LAST = ["Lovelace", "Turing", "Hopper", "Liskov", "Dijkstra", "Ritchie", "Knuth", "Lamarr"]
_DOMAINS = ["example.com", "example.org", "mail.example.net"]
_COUNTRIES = ["DE", "FR", "IN", "US", "GB", "ES", "NL", "BR", "JP", "SE"]
_CATEGORIES = ["books", "games", "garden", "kitchen", "music", "toys"]

CUSTOMERS_DDL = """
CREATE TABLE public.customers (
    customer_id integer PRIMARY KEY,
    email text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    age integer,
    country text NOT NULL
)"""
ORDERS_DDL = """
CREATE TABLE public.orders (
    order_id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES public.customers,
    ordered_at timestamptz NOT NULL,
    quantity integer NOT NULL,
    product_id text NOT NULL
)"""


@dataclass(frozen=True)
class ShopData:
    customers: list[tuple[int, str, str, str, int, str]]
    orders: list[tuple[int, int, datetime, int, str]]
    products: list[tuple[str, str, Decimal]]


CENT = Decimal("0.01")


def _cents(cents: int) -> Decimal:
    """A price: exact, with two decimals (``Decimal("12.50")``, written so to the CSV)."""
    return (Decimal(cents) / 100).quantize(CENT)


def generate(seed: int = SEED) -> ShopData:
    """The demo rows; the same ``seed`` always gives the same data."""
    rng = random.Random(seed)
    products = [
        (f"P{n:03d}", rng.choice(_CATEGORIES), _cents(rng.randrange(199, 9999)))
        for n in range(1, PRODUCTS + 1)
    ]
    customers = []
    for cid in range(1, CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}{cid}@{rng.choice(_DOMAINS)}"
        if cid % 7 == 0:
            email = email.upper()
        if cid % 11 == 0:
            email = f" {email} "
        customers.append((cid, email, first, last, rng.randint(18, 80), rng.choice(_COUNTRIES)))
    buyers = [c[0] for c in customers if c[0] % 10 != 3]
    span = ORDER_DAYS * 24 * 3600
    orders = [
        (
            oid,
            rng.choice(buyers),
            FIRST_ORDER + timedelta(seconds=rng.randrange(span)),
            rng.randint(1, 5),
            rng.choice(products)[0],
        )
        for oid in range(1, ORDERS + 1)
    ]
    return ShopData(customers, orders, products)


def _has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
    if found is None or found[0] is None:
        return False
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM public.{})").format(sql.Identifier(table))
    row = conn.execute(query).fetchone()
    return bool(row and row[0])


def seed_postgres(conninfo: str, data: ShopData, *, reset: bool = False) -> bool:
    """Create and load ``customers`` and ``orders`` unless they already hold rows (or with
    ``reset``, replace them); one transaction. True when rows were loaded."""
    with psycopg.connect(conninfo) as conn:
        if not reset and _has_rows(conn, "customers") and _has_rows(conn, "orders"):
            return False
        with conn.transaction():
            conn.execute("DROP TABLE IF EXISTS public.orders, public.customers")
            conn.execute(CUSTOMERS_DDL)
            conn.execute(ORDERS_DDL)
            with conn.cursor() as cur:
                columns = "customer_id, email, first_name, last_name, age, country"
                with cur.copy(f"COPY public.customers ({columns}) FROM STDIN") as copy:
                    for customer in data.customers:
                        copy.write_row(customer)
                columns = "order_id, customer_id, ordered_at, quantity, product_id"
                with cur.copy(f"COPY public.orders ({columns}) FROM STDIN") as copy:
                    for order in data.orders:
                        copy.write_row(order)
    return True


def products_csv(data: ShopData) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["product_id", "category", "unit_price"])
    writer.writerows(data.products)
    return out.getvalue()


def write_products(home: Path, data: ShopData) -> Path:
    """``<home>/data/landing/products.csv``, rewritten only when its content differs."""
    path = home / LANDING / "products.csv"
    content = products_csv(data)
    if not path.is_file() or path.read_text() != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return path
