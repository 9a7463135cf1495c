"""The resource side: protecting APIs with the access tokens this (or another) server issues.

- ``middleware.OAuthTokenMiddleware``: ``request.oauth`` / ``request.oauth_error`` on every request;
- ``authentication.BearerTokenAuthentication`` (Bearer tokens, and DPoP-bound ones with their proof,
  RFC 9449 §7), ``authentication.DPoPTokenAuthentication`` (DPoP only) and ``permissions.HasScopes`` /
  ``permissions.HasReadWriteScopes`` for Django REST framework;
- ``decorators.require_scopes`` for plain Django and DRF function views and view methods
  (``dpop=True`` requires DPoP);
- ``validator``: the one token validator they all use; ``keysets``: where its keys come from.

Nothing here imports the authorization-server views or grants: a separate service that only
trusts the tokens installs this app and sets ``RESOURCE_JWKS_URL``.
"""
