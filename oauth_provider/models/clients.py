"""Clients (applications) and the consent users give them."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from oauth_provider import crypto
from oauth_provider.conf import oauth_settings
from oauth_provider.jwk_sets import allowed_assertion_algorithms, jwks_problems, jwks_uri_problem
from oauth_provider.redirect_uris import validate_redirect_uri
from oauth_provider.scopes import known_scopes, parse_scope


class ClientType(models.TextChoices):
    CONFIDENTIAL = "confidential", "Confidential (can keep a secret)"
    PUBLIC = "public", "Public (browser or native app)"


class GrantType(models.TextChoices):
    """Grant types as RFC 7591 names them in client metadata."""

    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code", "Device code"
    PASSWORD = "password", "Password (legacy opt-in)"
    IMPLICIT = "implicit", "Implicit (legacy opt-in)"


class SubjectType(models.TextChoices):
    """OpenID Connect Core §8: the ``sub`` a client sees."""

    PUBLIC = "public", "Public (the same sub for every client)"
    PAIRWISE = "pairwise", "Pairwise (a different sub per sector)"


# JWS algorithms an ID Token may be signed with (OpenID Connect Core §3.1.3.7; RS256 always).
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "EdDSA")

class TokenEndpointAuthMethod(models.TextChoices):
    """How a client authenticates (RFC 7591 §2). Empty: its secret (Basic or POST), or none when public."""

    SECRET_OR_NONE = "", "Client secret (Basic or POST); none for a public client"
    PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt (RFC 7523 §2.2 assertion signed with a registered key)"


# Grants that send the user's browser back to the client, and so need redirect URIs.
REDIRECT_GRANTS = {GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT}


def _new_client_id() -> str:
    return crypto.generate_identifier()


class Application(models.Model):
    """An OAuth client. Its secret is stored only as a SHA-256 digest (see ``generate_secret``)."""

    client_id = models.CharField(max_length=100, unique=True, default=_new_client_id)
    client_secret_digest = models.CharField(max_length=64, blank=True, editable=False)
    secret_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    name = models.CharField(max_length=255)
    client_type = models.CharField(max_length=20, choices=ClientType.choices, default=ClientType.CONFIDENTIAL)
    redirect_uris = models.TextField(blank=True, help_text="One per line; compared by exact match.")
    grant_types = models.JSONField(default=list, blank=True)
    allowed_scopes = models.CharField(
        max_length=1000, blank=True, help_text="Space-separated scopes this client may ask for."
    )
    default_scopes = models.CharField(
        max_length=1000, blank=True, help_text="Space-separated scopes granted when a request names none."
    )
    require_pkce = models.BooleanField(default=True, help_text="Public clients always need PKCE.")
    allow_plain_pkce = models.BooleanField(default=False, help_text="Accept the weak 'plain' PKCE method.")
    skip_consent = models.BooleanField(default=False, help_text="Trusted first-party client: no consent page.")
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty uses the server default."
    )
    dpop_bound_access_tokens = models.BooleanField(
        default=False,
        help_text="Always send a DPoP proof to the token endpoint: every token is bound to a key (RFC 9449 §5.2).",
    )
    allowed_origins = models.TextField(blank=True, help_text="Origins allowed for CORS, one per line.")
    registration_access_token_digest = models.CharField(max_length=64, blank=True, editable=False)
    # When the registration access token stops working (RFC 7592); None: never (REGISTRATION_ACCESS_TOKEN_LIFETIME).
    registration_access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_resource_server = models.BooleanField(
        default=False, help_text="May introspect access tokens for the audiences it serves (RFC 7662)."
    )
    resource_audiences = models.TextField(
        blank=True, help_text="Audiences (aud) this resource server serves, one per line; empty: the server default."
    )
    resource_scopes = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Resource server: the scopes its audiences accept (RFC 8707). Scopes no resource server "
        "lists are accepted by every resource; a resource never gets a scope only another one lists.",
    )
    token_endpoint_auth_method = models.CharField(
        max_length=40,
        blank=True,
        choices=TokenEndpointAuthMethod.choices,
        default=TokenEndpointAuthMethod.SECRET_OR_NONE,
    )
    token_endpoint_auth_signing_alg = models.CharField(
        max_length=10, blank=True, help_text="private_key_jwt: the only JWS algorithm accepted; empty: any allowed one."
    )
    jwks = models.JSONField(
        null=True, blank=True, help_text="private_key_jwt: the client's public keys as a JWK Set (RFC 7517 §5)."
    )
    jwks_uri = models.CharField(
        max_length=2000, blank=True, help_text="private_key_jwt: https URL of the client's JWK Set (instead of jwks)."
    )
    require_pushed_authorization_requests = models.BooleanField(
        default=False, help_text="Refuse authorization requests that were not pushed first (RFC 9126 §6)."
    )
    metadata = models.JSONField(default=dict, blank=True, help_text="Other RFC 7591 client metadata.")
    # --- OpenID Connect (Core §3.1.3.7, §8; Dynamic Registration §2; RP-Initiated Logout §3.1) ---
    id_token_signed_response_alg = models.CharField(
        max_length=10, default="RS256", choices=[(a, a) for a in ID_TOKEN_ALGORITHMS],
        help_text="JWS algorithm of this client's ID Tokens.",
    )
    subject_type = models.CharField(
        max_length=10, choices=SubjectType.choices, default=SubjectType.PUBLIC,
        help_text="Pairwise: this client's sector sees a sub no other sector can correlate.",
    )
    sector_identifier_uri = models.CharField(
        max_length=2000, blank=True,
        help_text="https URL of a JSON array of the redirect URIs that share this client's pairwise sub.",
    )
    # The host that pairwise subjects are computed for: the sector_identifier_uri's host, else the
    # redirect URIs' one host. Stored when the client is saved, so no request ever fetches it.
    sector_identifier = models.CharField(max_length=255, blank=True, editable=False)
    post_logout_redirect_uris = models.TextField(
        blank=True, help_text="Where RP-initiated logout may send the user back, one per line; exact match."
    )
    require_auth_time = models.BooleanField(default=False, help_text="Always put auth_time in ID Tokens.")
    default_max_age = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; a login older than this is asked again (like max_age)."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="oauth_applications",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "application"

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def save(self, *args, **kwargs) -> None:
        # A plaintext secret must never reach the database.
        for field in ("client_secret_digest", "registration_access_token_digest"):
            value = getattr(self, field)
            if value and not crypto.is_digest(value):
                raise ValueError(f"{field} must be a SHA-256 digest; use generate_secret()")
        if self.client_type == ClientType.PUBLIC and self.client_secret_digest:
            raise ValueError("a public client cannot have a secret")
        self.sector_identifier = self.computed_sector_identifier()
        super().save(*args, **kwargs)

    def computed_sector_identifier(self) -> str:
        """OpenID Connect Core §8.1: the sector_identifier_uri's host, else the redirect URIs' host."""
        if self.sector_identifier_uri:
            return urlsplit(self.sector_identifier_uri).hostname or ""
        hosts = sorted({urlsplit(uri).hostname or "" for uri in self.redirect_uri_list})
        return hosts[0] if hosts else ""

    # --- secret ------------------------------------------------------------------------------

    @property
    def is_confidential(self) -> bool:
        return self.client_type == ClientType.CONFIDENTIAL

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_digest)

    def generate_secret(self) -> str:
        """Give the client a new random secret and return it; only its digest is kept.

        The caller shows the returned value once and saves the model.
        """
        secret = crypto.generate_secret()
        self.set_secret(secret)
        return secret

    def set_secret(self, secret: str) -> None:
        """Store the digest of a caller-chosen secret (fixtures and demos; at least 32 characters)."""
        if len(secret) < 32:
            raise ValueError("client secrets must be at least 32 characters long")
        self.client_secret_digest = crypto.digest(secret)
        self.secret_updated_at = timezone.now()

    def check_secret(self, secret: str) -> bool:
        return crypto.matches_digest(secret, self.client_secret_digest)

    # --- metadata ----------------------------------------------------------------------------

    @property
    def redirect_uri_list(self) -> list[str]:
        return [line.strip() for line in self.redirect_uris.splitlines() if line.strip()]

    @property
    def allowed_scope_list(self) -> list[str]:
        return parse_scope(self.allowed_scopes)

    @property
    def default_scope_list(self) -> list[str]:
        return parse_scope(self.default_scopes)

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        return [line.strip() for line in self.post_logout_redirect_uris.splitlines() if line.strip()]

    @property
    def origin_list(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]

    @property
    def served_audience_list(self) -> list[str]:
        """The ``aud`` values of the access tokens this resource server may introspect."""
        audiences = [line.strip() for line in self.resource_audiences.splitlines() if line.strip()]
        return audiences or [oauth_settings.access_token_audience]

    @property
    def resource_scope_list(self) -> list[str]:
        return parse_scope(self.resource_scopes)

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.token_endpoint_auth_method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        grants = list(self.grant_types or [])
        unknown = [g for g in grants if g not in GrantType.values]
        if unknown:
            errors.setdefault("grant_types", []).append(f"Unknown grant types: {', '.join(unknown)}.")
        if self.client_type == ClientType.PUBLIC and GrantType.CLIENT_CREDENTIALS in grants:
            errors.setdefault("grant_types", []).append(
                "A public client cannot use client_credentials: it has no secret to authenticate with."
            )
        for uri in self.redirect_uri_list:
            try:
                validate_redirect_uri(uri)
            except ValidationError as exc:
                errors.setdefault("redirect_uris", []).extend(f"{uri}: {m}" for m in exc.messages)
        if REDIRECT_GRANTS.intersection(grants) and not self.redirect_uri_list:
            errors.setdefault("redirect_uris", []).append(
                "The authorization_code and implicit grants need at least one redirect URI."
            )
        for uri in self.post_logout_redirect_uri_list:
            try:
                validate_redirect_uri(uri)
            except ValidationError as exc:
                errors.setdefault("post_logout_redirect_uris", []).extend(f"{uri}: {m}" for m in exc.messages)
        if self.subject_type == SubjectType.PAIRWISE and not self.sector_identifier_uri:
            hosts = {urlsplit(uri).hostname for uri in self.redirect_uri_list}
            if len(hosts) > 1:
                errors.setdefault("sector_identifier_uri", []).append(
                    "A pairwise client whose redirect URIs have several hosts needs a sector_identifier_uri "
                    "(OpenID Connect Core §8.1)."
                )
        errors.update(self._key_errors())
        known = known_scopes()
        for field in ("allowed_scopes", "default_scopes", "resource_scopes"):
            try:
                tokens = parse_scope(getattr(self, field))
            except ValueError as exc:
                errors.setdefault(field, []).append(str(exc))
                continue
            outside = [t for t in tokens if t not in known]
            if outside:
                errors.setdefault(field, []).append(f"Unknown scopes: {' '.join(outside)}.")
        if not errors.get("default_scopes") and not errors.get("allowed_scopes"):
            extra = set(self.default_scope_list) - set(self.allowed_scope_list)
            if extra:
                errors.setdefault("default_scopes", []).append(
                    f"Default scopes must be allowed scopes; not allowed: {' '.join(sorted(extra))}."
                )
        if errors:
            raise ValidationError(errors)

    def _key_errors(self) -> dict[str, list[str]]:
        """private_key_jwt needs a confidential client without a secret and exactly one key source."""
        errors: dict[str, list[str]] = {}
        if self.jwks is not None and self.jwks_uri:
            errors["jwks_uri"] = ["Register jwks or jwks_uri, not both (RFC 7591 §2)."]
        if self.jwks is not None:
            problems = jwks_problems(self.jwks)
            if problems:
                errors["jwks"] = problems
        if self.jwks_uri:
            problem = jwks_uri_problem(self.jwks_uri)
            if problem:
                errors["jwks_uri"] = [problem]
        if self.uses_private_key_jwt:
            if self.client_type != ClientType.CONFIDENTIAL:
                errors.setdefault("token_endpoint_auth_method", []).append(
                    "private_key_jwt is for confidential clients."
                )
            if self.jwks is None and not self.jwks_uri:
                errors.setdefault("token_endpoint_auth_method", []).append(
                    "private_key_jwt needs the client's keys: jwks or jwks_uri."
                )
        algorithm = self.token_endpoint_auth_signing_alg
        if algorithm and algorithm not in allowed_assertion_algorithms():
            errors["token_endpoint_auth_signing_alg"] = [f"Use one of {', '.join(allowed_assertion_algorithms())}."]
        return errors


class Consent(models.Model):
    """Scopes a user has agreed to give a client, remembered when the setting allows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "application"], name="oauth_one_consent_per_client")]

    def __str__(self) -> str:
        return f"{self.user} → {self.application.name}: {self.scope}"
