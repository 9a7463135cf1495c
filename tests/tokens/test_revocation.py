"""Token revocation in the domain: a family's access tokens and the revocation marks resource servers read."""

import pytest

from oauth_provider.models import AccessToken, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked, revoke_refresh_family
from tests.helpers.flows import obtain_code, redeem

pytestmark = pytest.mark.django_db


@pytest.mark.security("S11")
def test_revoking_a_refresh_family_revokes_its_access_tokens_and_publishes_them(
    user_client, web_app, django_capture_on_commit_callbacks
):
    redeem(user_client, web_app, obtain_code(user_client, web_app))
    jti = AccessToken.objects.get().jti
    with django_capture_on_commit_callbacks(execute=True):
        revoke_refresh_family(RefreshToken.objects.get().family_id)
    assert AccessToken.objects.get().revoked_at is not None
    assert is_jti_revoked(jti)
