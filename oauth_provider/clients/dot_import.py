"""Clients copied from django-oauth-toolkit (DOT): one DOT application row becomes one ``Application``.

``oauth_import_dot_applications`` reads the rows (raw SQL: DOT need not be installed) and hands each one
to ``import_row``. A row is imported whole or not at all: it is converted, validated like every client
(``Application.full_clean``: redirect URIs, grants against the client type, scopes), and saved with its
audit event in one transaction. Anything that cannot be carried over faithfully is a *problem* (the row
is skipped and reported); what behaves differently here is a *note* (the row is imported and the note
printed). docs/MIGRATING_FROM_DOT.md explains every case to the operator.

Secrets. DOT 2.0 and later hash client secrets with Django's password hashers (PBKDF2 by default): the
secret cannot be recovered, so a confidential client gets a fresh one (shown once), or, in the
"rotate later" mode, is created inactive and without a secret until an admin rotates it. The one
exception is a row DOT stored unhashed (``hash_client_secret`` false, DOT 2.4 and later): its secret is
kept (as our digest) when it is at least 32 characters and does not look like a password hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauth_provider import audit
from oauth_provider.conf import oauth_settings
from oauth_provider.models import Application, ClientType, GrantType

# DOT's Application columns (2.x and 3.x). The first ones exist in every DOT version this reads.
REQUIRED_COLUMNS = (
    "client_id", "name", "client_type", "authorization_grant_type", "redirect_uris", "client_secret",
    "skip_authorization",
)
# Added later: hash_client_secret and allowed_origins in DOT 2.4, post_logout_redirect_uris in 2.3,
# algorithm in 1.5; user_id is the owner (nullable).
OPTIONAL_COLUMNS = ("hash_client_secret", "allowed_origins", "post_logout_redirect_uris", "algorithm", "user_id")

# DOT's authorization_grant_type -> our grant types. DOT gives a refresh token with the code, password
# and device grants, so those clients get refresh_token too (always rotated here).
GRANT_MAP: dict[str, list[str]] = {
    "authorization-code": [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    "client-credentials": [GrantType.CLIENT_CREDENTIALS],
    "password": [GrantType.PASSWORD, GrantType.REFRESH_TOKEN],
    "implicit": [GrantType.IMPLICIT],
    "urn:ietf:params:oauth:grant-type:device_code": [GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN],
}
NO_EQUIVALENT = {
    "openid-hybrid": "the OpenID Connect hybrid flow (response_type code id_token) is not supported here; "
                     "recreate the client for the authorization code flow if it can use it",
}

# A Django password hash as DOT stores it: "<algorithm>$<fields...>" (pbkdf2_sha256$870000$salt$hash,
# argon2$argon2id$..., bcrypt_sha256$$2b$...), or the 32 hex digits of Django's unsalted MD5 hasher.
# Such a value is never taken for a plaintext secret.
_PASSWORD_HASH = re.compile(r"[a-z0-9_]+\$.*|[0-9a-f]{32}", re.DOTALL)
# A client id we accept: printable, no whitespace (it travels in forms and HTTP Basic).
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,100}")

MIN_KEPT_SECRET_LENGTH = 32

IMPORTED = "imported"
WOULD_IMPORT = "would import"
EXISTS = "exists"
SKIPPED = "skipped"


@dataclass(frozen=True)
class ImportOptions:
    """How rows are turned into clients (the command's options)."""

    allowed_scopes: str
    rotate_later: bool = False
    require_pkce: bool = True
    keep_owner: bool = True
    dry_run: bool = False


@dataclass
class Outcome:
    """What happened to one DOT row."""

    client_id: str
    name: str
    status: str
    grant_types: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A fresh secret, to show once (never stored, never logged).
    client_secret: str | None = None
    secret_kept: bool = False
    active: bool = True

    def as_dict(self) -> dict[str, Any]:
        result = {
            "client_id": self.client_id, "name": self.name, "status": self.status,
            "grant_types": self.grant_types, "problems": self.problems, "notes": self.notes,
            "active": self.active, "secret_kept": self.secret_kept,
        }
        if self.client_secret is not None:
            result["client_secret"] = self.client_secret
        return result


def looks_hashed(secret: str) -> bool:
    """Whether DOT's stored secret is a Django password hash (irrecoverable)."""
    return bool(_PASSWORD_HASH.fullmatch(secret))


def plaintext_secret(row: Mapping[str, Any]) -> str | None:
    """The secret DOT stored unhashed, or None when it is hashed (or may be).

    Only a row that says so (``hash_client_secret`` false) holds a plaintext secret. A value shaped like
    a password hash is never one, whatever the flag says (it may have been saved hashed before the flag
    was turned off): taking a hash for the secret would let anyone who read DOT's table authenticate.
    """
    if "hash_client_secret" not in row or _truthy(row["hash_client_secret"]):
        return None
    secret = row.get("client_secret") or ""
    if not secret or looks_hashed(secret):
        return None
    return secret


def _truthy(value: Any) -> bool:
    # Booleans come back as bool, 0/1 or "t"/"f" depending on the database.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes")
    return bool(value)


def _split(value: Any) -> list[str]:
    return str(value or "").split()


def duplicated_ids(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Client ids that appear more than once in the rows (none can be chosen over the other)."""
    counts: dict[str, int] = {}
    for row in rows:
        client_id = str(row.get("client_id") or "")
        counts[client_id] = counts.get(client_id, 0) + 1
    return {client_id: n for client_id, n in counts.items() if n > 1}


def build_application(row: Mapping[str, Any], options: ImportOptions, *, same_database: bool) -> tuple[
    Application | None, Outcome
]:
    """The client one DOT row describes, unsaved and validated; None (with the problems) when it cannot be."""
    client_id = str(row.get("client_id") or "")
    name = str(row.get("name") or "").strip()
    outcome = Outcome(client_id=client_id, name=name or client_id, status=SKIPPED)
    if not _CLIENT_ID.fullmatch(client_id):
        outcome.problems.append("its client id is empty, longer than 100 characters or has spaces or control "
                                "characters")
        return None, outcome
    if not name:
        outcome.notes.append("DOT had no name for it: named after its client id (shown on the consent page)")
    client_type = str(row.get("client_type") or "")
    if client_type not in ClientType.values:
        outcome.problems.append(f"unknown client type {client_type!r}")
    dot_grant = str(row.get("authorization_grant_type") or "")
    if dot_grant in NO_EQUIVALENT:
        outcome.problems.append(f"grant type {dot_grant!r}: {NO_EQUIVALENT[dot_grant]}")
    elif dot_grant not in GRANT_MAP:
        outcome.problems.append(f"unknown grant type {dot_grant!r}")
    if outcome.problems:
        return None, outcome

    grants = list(GRANT_MAP[dot_grant])
    outcome.grant_types = grants
    confidential = client_type == ClientType.CONFIDENTIAL
    application = Application(
        client_id=client_id,
        name=name or client_id,
        client_type=client_type,
        grant_types=grants,
        redirect_uris="\n".join(_split(row.get("redirect_uris"))),
        allowed_origins="\n".join(_split(row.get("allowed_origins"))),
        allowed_scopes=options.allowed_scopes,
        skip_consent=_truthy(row.get("skip_authorization")),
        require_pkce=options.require_pkce or not confidential,
    )
    _owner(application, row, options, same_database=same_database, outcome=outcome)
    _notes(application, row, dot_grant, outcome)
    try:
        application.full_clean(validate_unique=False)
    except ValidationError as exc:
        outcome.problems.extend(f"{field_name}: {' '.join(messages)}"
                                for field_name, messages in exc.message_dict.items())
    if not application.allowed_scope_list:
        outcome.problems.append("no scopes: name the scopes its clients may ask for with --scope")
    if outcome.problems:
        return None, outcome

    if confidential:
        kept = plaintext_secret(row)
        if kept is not None and len(kept) >= MIN_KEPT_SECRET_LENGTH:
            application.set_secret(kept)
            outcome.secret_kept = True
            outcome.notes.append("secret kept: DOT stored it unhashed (hash_client_secret off)")
        else:
            if kept is not None:
                outcome.notes.append(f"its unhashed DOT secret is shorter than {MIN_KEPT_SECRET_LENGTH} characters: "
                                     "not kept")
            if options.rotate_later:
                application.is_active = False
                outcome.active = False
                outcome.notes.append("inactive and without a secret until an admin rotates it (the DOT secret "
                                     "is hashed and cannot be recovered)")
            else:
                outcome.notes.append("new secret: the DOT secret is hashed and cannot be recovered")
                if not options.dry_run:
                    outcome.client_secret = application.generate_secret()
    elif row.get("client_secret"):
        outcome.notes.append("public client: DOT's secret for it is dropped (public clients have none here)")
    return application, outcome


def _owner(application: Application, row: Mapping[str, Any], options: ImportOptions, *, same_database: bool,
           outcome: Outcome) -> None:
    user_id = row.get("user_id")
    if user_id in (None, ""):
        return
    if options.keep_owner and same_database and get_user_model()._default_manager.filter(pk=user_id).exists():
        application.owner_id = user_id
        return
    why = "DOT's table is in another database" if not same_database else "no such user here"
    if not options.keep_owner:
        why = "--no-owners"
    outcome.notes.append(f"owner (user {user_id}) not kept: {why}")


def _notes(application: Application, row: Mapping[str, Any], dot_grant: str, outcome: Outcome) -> None:
    """What the operator should know about this client: everything that behaves differently here."""
    enabled = set(oauth_settings.GRANT_TYPES)
    for grant in application.grant_types:
        if grant == GrantType.IMPLICIT:
            if not oauth_settings.IMPLICIT_GRANT_ENABLED:
                outcome.notes.append("implicit grant: served only when IMPLICIT_GRANT_ENABLED is on (a legacy "
                                     "opt-in, RFC 9700 deprecates it)")
        elif grant not in enabled:
            outcome.notes.append(f"grant {grant} is not enabled in GRANT_TYPES: its requests will be refused")
    if dot_grant == "password":
        outcome.notes.append("password grant: a legacy opt-in (RFC 9700 deprecates it); check --deploy warns")
    if GrantType.AUTHORIZATION_CODE in application.grant_types:
        if application.require_pkce:
            outcome.notes.append("PKCE required, S256 only (DOT also accepted plain)")
        else:
            outcome.notes.append("PKCE not required (--no-pkce); if sent, S256 only")
    if application.skip_consent:
        outcome.notes.append("skip_authorization -> skip_consent: its users are never asked, for any scope it "
                             "is allowed")
    algorithm = str(row.get("algorithm") or "")
    if algorithm == "HS256":
        outcome.notes.append("DOT signed its ID tokens with the client secret (HS256); this server never signs "
                             "with a client secret: the client verifies with the server's JWKS")
    elif algorithm:
        outcome.notes.append(f"DOT signed its ID tokens with {algorithm} and its own key; this server signs with "
                             "its signing keys (SIGNING_ALGORITHM), published in its JWKS")
    if _split(row.get("post_logout_redirect_uris")):
        outcome.notes.append("post-logout redirect URIs not imported (no RP-initiated logout here)")


def import_row(row: Mapping[str, Any], options: ImportOptions, *, same_database: bool) -> Outcome:
    """Import one DOT row (or, in a dry run, say whether it would be): whole, or not at all."""
    client_id = str(row.get("client_id") or "")
    if client_id and Application.objects.filter(client_id=client_id).exists():
        return Outcome(client_id=client_id, name=str(row.get("name") or "") or client_id, status=EXISTS,
                       notes=["a client with this id exists here: left as it is"])
    application, outcome = build_application(row, options, same_database=same_database)
    if application is None:
        return outcome
    if options.dry_run:
        outcome.status = WOULD_IMPORT
        return outcome
    try:
        with transaction.atomic():
            application.save()
            audit.record(audit.CLIENT_CREATED, application=application, source="dot_import",
                         dot_grant_type=str(row.get("authorization_grant_type") or ""),
                         secret_kept=outcome.secret_kept, active=application.is_active)
    except IntegrityError:
        # Created meanwhile (another run, another process): theirs stands.
        return Outcome(client_id=client_id, name=outcome.name, status=EXISTS,
                       notes=["a client with this id was created meanwhile: left as it is"])
    outcome.status = IMPORTED
    return outcome


def import_rows(rows: Sequence[Mapping[str, Any]], options: ImportOptions, *, same_database: bool) -> list[Outcome]:
    """Import every row; rows sharing a client id are all skipped (which one is right cannot be told)."""
    duplicates = duplicated_ids(rows)
    outcomes = []
    for row in rows:
        client_id = str(row.get("client_id") or "")
        if client_id in duplicates:
            outcomes.append(Outcome(client_id=client_id, name=str(row.get("name") or "") or client_id,
                                    status=SKIPPED,
                                    problems=[f"its client id appears {duplicates[client_id]} times in the table"]))
            continue
        outcomes.append(import_row(row, options, same_database=same_database))
    return outcomes
