"""The Django admin console of the provider: clients, tokens, keys, audit trail and dashboard."""

from oauth_provider.admin import console  # noqa: F401  (registers the model admins)
