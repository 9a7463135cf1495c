"""OpenID Connect on top of the OAuth server: claims, subjects, sectors, the time of login, the
authentication decision (prompt, max_age, hints) and ID Tokens.

A domain layer under ``tokens/`` (access tokens carry the client's ``sub`` and the custom claims): it
imports only the shared modules, ``models`` and ``keys``; endpoints, grants, clients and views call it.
"""
