"""Bench accounts: a realistic, deterministic spread of usernames and e-mails, loaded by COPY.

    python bench/users.py --database-url postgres://postgres@127.0.0.1:5432/DB --count N

Row i is always the same account, so the first 1,000 rows of the million-user database are
the 1,000 accounts of the small one. Every row gets one precomputed argon2 hash (hashing a
million passwords would take hours and changes nothing in what is measured). The large
indexes (three trigram GIN indexes, two lower() B-trees) are dropped during the COPY and
built again afterwards, which is several times faster than maintaining them row by row.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg

FIRST = (
    "maria",
    "jose",
    "luis",
    "ana",
    "carlos",
    "juan",
    "laura",
    "andres",
    "diana",
    "jorge",
    "paula",
    "camilo",
    "sandra",
    "david",
    "natalia",
    "felipe",
    "claudia",
    "oscar",
    "angela",
    "miguel",
    "gabriela",
    "sebastian",
    "carolina",
    "ricardo",
)
LAST = (
    "gonzalez",
    "rodriguez",
    "gomez",
    "lopez",
    "martinez",
    "garcia",
    "perez",
    "sanchez",
    "ramirez",
    "torres",
    "diaz",
    "vargas",
    "moreno",
    "rojas",
    "jimenez",
    "munoz",
    "castro",
    "ortiz",
    "rubio",
    "herrera",
    "gongora",
    "suarez",
    "mejia",
    "rios",
)
DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "yahoo.es",
    "outlook.com",
    "une.net.co",
    "gov.co",
    "mindefensa.gov.co",
    "bogota.gov.co",
)
SHARED_EVERY = 7  # one account in 7 shares a procurement mailbox with its neighbours
COLUMNS = (
    "password",
    "is_superuser",
    "username",
    "email",
    "full_name",
    "language",
    "is_active",
    "is_staff",
    "date_joined",
    "notify_new_device",
    "known_devices",
    "verified_email",
)


def account(i: int) -> tuple[str, str, str]:
    """Return (username, email, full name) of bench account number i."""
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    style = i % 4
    username = (
        f"{first}.{last}{i}",
        f"{first[0]}{last}{i}",
        f"{last}.compras{i}",
        f"proveedor{i}",
    )[style]
    if i % SHARED_EVERY == 0:
        # Entities share one mailbox among several users (like gongoragabriela and
        # gongora.compras in the demo): 3 consecutive shared accounts per mailbox.
        email = f"compras{i // (3 * SHARED_EVERY)}@entidad{(i // (3 * SHARED_EVERY)) % 97}.gov.co"
    else:
        email = f"{first}.{last}{i}@{DOMAINS[i % len(DOMAINS)]}"
    return username, email, f"{first.title()} {last.title()} {i}"


def has_own_email(i: int) -> bool:
    return i % SHARED_EVERY != 0


def rows(start: int, count: int, password_hash: str) -> Iterator[tuple[object, ...]]:
    joined = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(start, start + count):
        username, email, full_name = account(i)
        yield (
            password_hash,
            False,
            username,
            email,
            full_name,
            "es-co",
            True,
            False,
            joined,
            True,
            "{}",
            "",
        )  # no address verified yet, as after an import


def big_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Return (name, definition) of the secondary indexes of accounts_user."""
    return conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'accounts_user' "
        "AND indexname <> 'accounts_user_pkey'"
    ).fetchall()


def load(
    database_url: str,
    *,
    start: int,
    count: int,
    password_hash: str,
    table: str = "accounts_user",
    rebuild_indexes: bool = True,
) -> dict[str, float]:
    """COPY `count` accounts from number `start` on; return the seconds each step took."""
    took: dict[str, float] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        indexes = big_indexes(conn) if rebuild_indexes else []
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        clock = time.monotonic()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows(start, count, password_hash):
                copy.write_row(row)
        took["copy_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        for _, definition in indexes:
            conn.execute(definition)
        took["indexes_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        # A table just filled by COPY gets its first VACUUM (visibility map, hint bits) from
        # autovacuum minutes later, in the middle of the measurements; a deployed table is
        # long past that. Do it now, with the statistics the planner needs.
        conn.execute(f"VACUUM (ANALYZE) {table}")
        took["vacuum_s"] = round(time.monotonic() - clock, 1)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description="COPY bench accounts into a Portero database")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--password-hash", required=True, help="one encoded argon2 hash")
    args = parser.parse_args()
    print(
        load(
            args.database_url, start=args.start, count=args.count, password_hash=args.password_hash
        )
    )


if __name__ == "__main__":
    main()
