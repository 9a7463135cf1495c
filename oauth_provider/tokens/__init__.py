"""Access and refresh tokens: issue, lookup, revocation.

``default_subject`` is public: it is the default ``USER_SUBJECT`` setting.
"""

from oauth_provider.tokens.issue import default_subject

__all__ = ["default_subject"]
