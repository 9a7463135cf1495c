"""The UserInfo endpoint (OpenID Connect Core §5.3): GET and POST, Bearer with openid, RFC 6750 errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauth_provider.models import AuthorizationCode, GrantType, SubjectType
from oauth_provider.oidc.subjects import subject_for_client
from oauth_provider.tokens.issue import issue_access_token
from tests.factories import ApplicationFactory, OpenIDApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/oauth/userinfo/"


def user_token(client_app, user, scope=("openid", "profile", "email"), claims=None):
    code = AuthorizationCode.objects.create(
        code_digest="0" * 63 + str(AuthorizationCode.objects.count()), application=client_app, user=user,
        scope=" ".join(scope), expires_at=timezone.now() + timedelta(minutes=1), claims=claims or {},
    )
    return issue_access_token(
        application=client_app, scope=list(scope), grant_type=GrantType.AUTHORIZATION_CODE, user=user,
        authorization_code=code,
    )


@pytest.fixture
def ada(db):
    return UserFactory(first_name="Ada", last_name="Lovelace", email="ada@example.test")


@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_answers_sub_and_the_claims_of_the_scopes(client, ada, method):
    app = OpenIDApplicationFactory()
    access = user_token(app, ada)
    response = getattr(client, method)(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "sub": str(ada.pk), "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
        "preferred_username": ada.username, "email": "ada@example.test", "email_verified": False,
    }


def test_only_openid_gives_just_the_subject(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada, scope=("openid",))
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}").json() == {"sub": str(ada.pk)}


def test_the_claims_request_for_userinfo_is_honoured(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada, scope=("openid",),
                        claims={"userinfo": {"email": {"essential": True}}})
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}").json() == {
        "sub": str(ada.pk), "email": "ada@example.test"}


def test_a_pairwise_client_sees_its_pairwise_sub(client, ada):
    app = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE)
    body = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {user_token(app, ada).token}").json()
    assert body["sub"] == subject_for_client(ada, app) != str(ada.pk)


def test_no_token_is_a_bare_challenge(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_without_openid_is_insufficient_scope(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada, scope=("read",))
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="openid"' in response["WWW-Authenticate"]


def test_an_invalid_token_is_invalid_token(client):
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer not.a.token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_revoked_token_is_refused_although_its_signature_is_good(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada)
    access.record.revoked_at = timezone.now()
    access.record.save()
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_an_inactive_user_gets_nothing(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada)
    ada.is_active = False
    ada.save()
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}").status_code == 401


def test_a_client_token_stands_for_no_user(client):
    app = ApplicationFactory(allowed_scopes="openid read")
    access = issue_access_token(application=app, scope=["openid"], grant_type=GrantType.CLIENT_CREDENTIALS)
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}").status_code == 401


def test_a_token_in_the_query_string_or_the_body_is_refused(client, ada):
    access = user_token(OpenIDApplicationFactory(), ada)
    assert client.get(URL, {"access_token": access.token}).status_code == 400
    response = client.post(URL, f"access_token={access.token}", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_other_methods_are_refused(client):
    assert client.put(URL).status_code == 405


def test_userinfo_costs_one_query(client, ada, django_assert_num_queries):
    access = user_token(OpenIDApplicationFactory(), ada)
    client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}")  # warm the key cache
    with django_assert_num_queries(1):
        assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {access.token}").status_code == 200


# --- browser relying parties (CORS) ---------------------------------------------------------------


def test_a_browser_rp_of_a_registered_origin_may_read_the_answer(client, ada):
    app = OpenIDApplicationFactory(allowed_origins="https://rp.example.test")
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {user_token(app, ada).token}",
                          HTTP_ORIGIN="https://rp.example.test")
    assert response["Access-Control-Allow-Origin"] == "https://rp.example.test"
    assert "Origin" in response["Vary"]


def test_another_clients_origin_may_not_read_the_answer(client, ada):
    OpenIDApplicationFactory(allowed_origins="https://other.example.test")
    app = OpenIDApplicationFactory(allowed_origins="https://rp.example.test")
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {user_token(app, ada).token}",
                          HTTP_ORIGIN="https://other.example.test")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_the_preflight_allows_get_and_the_authorization_header_for_a_registered_origin(client):
    OpenIDApplicationFactory(allowed_origins="https://rp.example.test")
    response = client.options(URL, HTTP_ORIGIN="https://rp.example.test",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://rp.example.test"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    unknown = client.options(URL, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in unknown
