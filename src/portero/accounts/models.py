"""Accounts: the user (case-insensitive username, shared e-mails) and their sessions."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from portero.accounts import rules
from portero.core import clock


class Language(models.TextChoices):
    SPANISH = "es-co", _("Spanish")
    ENGLISH = "en", _("English")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__lower=rules.normalize_username(username or ""))

    def create_user(
        self, username: str, email: str = "", password: str | None = None, **extra: Any
    ) -> User:
        user = self.model(username=username.strip(), email=self.normalize_email(email), **extra)
        user.set_password(password)  # None gives an unusable password: activate by e-mail
        user.save(using=self._db)
        return user

    def create_superuser(
        self, username: str, email: str = "", password: str | None = None, **extra: Any
    ) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A portal account. The username is unique ignoring case; e-mails may be shared."""

    username_validator = ASCIIUsernameValidator()

    username = models.CharField(
        _("username"),
        max_length=rules.USERNAME_MAX,
        validators=[username_validator],
        help_text=_("Letters, digits and . @ + - _ only."),
    )
    email = models.EmailField(_("e-mail address"), max_length=rules.EMAIL_MAX, blank=True)
    full_name = models.CharField(_("full name"), max_length=rules.FULL_NAME_MAX, blank=True)
    # Blank until the owner chooses ("Mi cuenta" or the header's switch): pages then follow
    # the browser, and an e-mail asked for anonymously the page it was asked from.
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, blank=True, default=""
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=clock.now)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    # Optional notices; security e-mails (recovery, password changed) always go.
    notify_new_device = models.BooleanField(_("e-mail me when a new device signs in"), default=True)
    # {device description: UTC date of its last sign-in}, the last REMEMBERED days only: tells
    # a new device from a known one without reading the audit trail (notices.device_is_new).
    known_devices = models.JSONField(_("recently used devices"), default=dict, blank=True)
    # The address a used recovery or activation link was sent to: the owner proved they read
    # it. `email_verified` (OpenID Connect) holds while it is still the account's address.
    verified_email = models.EmailField(_("verified e-mail address"), blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
        indexes = [models.Index(Lower("email"), name="accounts_user_email_ci")]

    def __str__(self) -> str:
        return self.username

    @property
    def email_verified(self) -> bool:
        return bool(self.email) and (
            rules.normalize_email(self.verified_email) == rules.normalize_email(self.email)
        )

    def preferred_language(self, fallback: str = "") -> str:
        """Return the language the owner chose, else `fallback`, else the site's default."""
        return self.language or fallback or settings.LANGUAGE_CODE

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.get_full_name()


class SessionRecord(models.Model):
    """Which signed-in session belongs to whom, so that a password change can end the others.

    `sid` names the session to the portals (the ID token's `sid`, the logout token's): random,
    kept when the session key changes, and never the key itself, which is a bearer secret.
    """

    session_key = models.CharField(max_length=40, primary_key=True)
    sid = models.CharField(max_length=43, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_records"
    )
    created_at = models.DateTimeField(default=clock.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}@{self.created_at:%Y-%m-%d %H:%M}"


class SignInThrottle(models.Model):
    """Failed sign-ins in a row for one typed username (keyed hash), known account or not (LI2).

    Kept per typed username rather than per account, so that failures for unknown usernames do
    the same work as for real ones.
    """

    key = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.failures} failures"
