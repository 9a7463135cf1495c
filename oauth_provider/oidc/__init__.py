"""OpenID Connect on top of the OAuth server: claims, subjects, the time of login, ID Tokens.

Domain code (like grants/, clients/, tokens/): the endpoints call it; it never imports them.
"""
