"""The table of composers: every kind of e-mail the outbox can hold has its body's composer."""

from __future__ import annotations

from portero.mail.composers import COMPOSERS
from portero.mail.models import EmailKind


def test_every_email_kind_has_a_composer():
    assert [kind.value for kind in EmailKind if kind not in COMPOSERS] == []


def test_the_table_names_only_email_kinds():
    assert sorted(set(COMPOSERS) - set(EmailKind)) == []
    assert all(callable(compose) for compose in COMPOSERS.values())
