"""Database sessions whose row is written once per request (SESSION_ENGINE).

Django's database engine inserts an empty row as soon as it makes a key (after asking whether
the key is free) and updates it when the response goes out, so a sign-in wrote its session
twice. Here making a key only allocates it; the first save() inserts the row with all its
data, and a later save() in the same request with nothing changed is skipped.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.db import IntegrityError, router
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._unwritten = False  # create() gave a key that has no row yet
        self._in_sync = False  # the row holds this data, with an expiry set in this request

    def create(self) -> None:
        """Allocate a new key (SE1); save() writes its row."""
        # 32 characters of [a-z0-9], about 165 random bits: a key already in use is as unlikely
        # as a guessed one, so the database is not asked first. Were it to happen, the INSERT
        # fails (CreateError) instead of joining the other session.
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._unwritten = True
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
        if self._in_sync and not self.modified and not must_create:
            return  # already written in this request; the expiry is as fresh as it gets
        if self._unwritten or must_create:
            self._insert()
        else:
            super().save()
        self._unwritten, self._in_sync, self.modified = False, True, False

    def _insert(self) -> None:
        # One INSERT, no savepoint: inside a sign-in a failure rolls back the whole transaction.
        data = self._get_session(no_load=True)  # type: ignore[attr-defined]  # not in the stubs
        row = self.create_model_instance(data)
        try:
            row.save(force_insert=True, using=router.db_for_write(self.model, instance=row))
        except IntegrityError as error:
            raise CreateError from error
