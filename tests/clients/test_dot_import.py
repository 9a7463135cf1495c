"""oauth_import_dot_applications: django-oauth-toolkit's clients copied from its table (raw SQL, DOT not
installed), whole or not at all, idempotent; hashed secrets replaced (printed once) or left to rotate."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.db import connection

from oauth_provider import crypto
from oauth_provider.clients.dot_import import ImportOptions, import_rows, looks_hashed, plaintext_secret
from oauth_provider.models import Application, AuditEvent, GrantType
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.flows import FORM, basic_auth

pytestmark = pytest.mark.django_db

TABLE = "oauth2_provider_application"
CLIENTS = "/admin/oauth_provider/application/"
NOW = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
PLAIN_SECRET = "dot-plaintext-secret-of-forty-characters"

# The columns of DOT 2.4 / 3.x's Application model (oauth2_provider/models.py AbstractApplication).
DOT_3_COLUMNS = """
    id bigint PRIMARY KEY,
    client_id varchar(100) NOT NULL {unique},
    user_id bigint NULL,
    redirect_uris text NOT NULL,
    post_logout_redirect_uris text NOT NULL DEFAULT '',
    client_type varchar(32) NOT NULL,
    authorization_grant_type varchar(44) NOT NULL,
    client_secret varchar(255) NOT NULL,
    hash_client_secret boolean NOT NULL DEFAULT TRUE,
    name varchar(255) NOT NULL,
    skip_authorization boolean NOT NULL,
    created timestamp NOT NULL,
    updated timestamp NOT NULL,
    algorithm varchar(5) NOT NULL,
    allowed_origins text NOT NULL DEFAULT ''
"""
# DOT 2.0 to 2.2: no post_logout_redirect_uris, hash_client_secret or allowed_origins yet.
DOT_2_0_COLUMNS = """
    id bigint PRIMARY KEY,
    client_id varchar(100) NOT NULL UNIQUE,
    user_id bigint NULL,
    redirect_uris text NOT NULL,
    client_type varchar(32) NOT NULL,
    authorization_grant_type varchar(32) NOT NULL,
    client_secret varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    skip_authorization boolean NOT NULL,
    created timestamp NOT NULL,
    updated timestamp NOT NULL,
    algorithm varchar(5) NOT NULL
"""


def hashed(secret: str = "x" * 128) -> str:
    """A secret as DOT 2+ stores it (its hasher is Django's: PBKDF2 in production, MD5 in these tests)."""
    return make_password(secret)


class DotTable:
    """DOT's application table in the test database (rolled back with the test)."""

    def __init__(self, name: str = TABLE, columns: str = DOT_3_COLUMNS, *, unique: bool = True) -> None:
        self.name, self.next_id = name, 1
        self.columns = columns
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {connection.ops.quote_name(name)} "
                           f"({columns.format(unique='UNIQUE' if unique else '')})")

    def add(self, client_id: str, **values) -> None:
        row = {
            "id": self.next_id, "client_id": client_id, "user_id": None, "redirect_uris": "",
            "post_logout_redirect_uris": "", "client_type": "confidential",
            "authorization_grant_type": "client-credentials", "client_secret": hashed(), "hash_client_secret": True,
            "name": f"App {client_id}", "skip_authorization": False, "created": NOW, "updated": NOW,
            "algorithm": "", "allowed_origins": "", **values,
        }
        row = {k: v for k, v in row.items() if re.search(rf"^\s*{k} ", self.columns, flags=re.M)}
        self.next_id += 1
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.name)} ({', '.join(quote(k) for k in row)}) "
                f"VALUES ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )


@pytest.fixture
def dot():
    return DotTable()


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def run(*args, **options) -> str:
    out = StringIO()
    call_command("oauth_import_dot_applications", *args, stdout=out, **options)
    return out.getvalue()


def printed_secret(output: str, client_id: str) -> str | None:
    block = output.split(f": {client_id} ", 1)[1].split("\n", 1)[1]
    block = re.split(r"^\S", block, maxsplit=1, flags=re.M)[0]  # up to the next client's line
    match = re.search(r"^  client_secret: (\S+)$", block, flags=re.M)
    return match.group(1) if match else None


# --- what is copied ------------------------------------------------------------------------------------


def test_clients_keep_their_ids_names_redirect_uris_types_and_grants(dot):
    owner = UserFactory()
    dot.add("web-client-id", name="Web shop", authorization_grant_type="authorization-code",
            redirect_uris="https://shop.example.test/cb https://shop.example.test/cb2",
            skip_authorization=True, user_id=owner.pk, algorithm="RS256")
    dot.add("spa-client-id", name="SPA", client_type="public", authorization_grant_type="authorization-code",
            redirect_uris="https://spa.example.test/cb", allowed_origins="https://spa.example.test "
            "https://app.example.test")
    dot.add("service-id", name="Billing", authorization_grant_type="client-credentials")
    dot.add("tv-id", name="TV", client_type="public",
            authorization_grant_type="urn:ietf:params:oauth:grant-type:device_code")
    dot.add("legacy-id", name="Legacy", authorization_grant_type="password")
    output = run()

    web = Application.objects.get(client_id="web-client-id")
    assert (web.name, web.client_type, web.grant_types) == (
        "Web shop", "confidential", [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN])
    assert web.redirect_uri_list == ["https://shop.example.test/cb", "https://shop.example.test/cb2"]
    assert web.skip_consent and web.require_pkce and web.is_active and web.owner == owner
    spa = Application.objects.get(client_id="spa-client-id")
    assert (spa.client_type, spa.has_secret, spa.require_pkce) == ("public", False, True)
    assert spa.origin_list == ["https://spa.example.test", "https://app.example.test"]
    assert not spa.skip_consent
    assert Application.objects.get(client_id="service-id").grant_types == [GrantType.CLIENT_CREDENTIALS]
    assert Application.objects.get(client_id="tv-id").grant_types == [GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN]
    assert Application.objects.get(client_id="legacy-id").grant_types == [GrantType.PASSWORD, GrantType.REFRESH_TOKEN]
    # DOT lets every application ask for every scope: so may they, by default.
    assert {a.allowed_scopes for a in Application.objects.all()} == {"read write admin"}
    assert "5 imported, 0 already here, 0 skipped." in output


def test_the_notes_say_what_behaves_differently(dot):
    dot.add("web", authorization_grant_type="authorization-code", redirect_uris="https://w.example.test/cb",
            skip_authorization=True, algorithm="HS256", post_logout_redirect_uris="https://w.example.test/bye")
    dot.add("rsa", authorization_grant_type="authorization-code", redirect_uris="https://r.example.test/cb",
            algorithm="RS256")
    dot.add("pw", authorization_grant_type="password")
    dot.add("imp", client_type="public", authorization_grant_type="implicit", redirect_uris="https://i.example.test/")
    output = run()
    web = output.split(": web ", 1)[1].split("imported: ", 1)[0]
    assert "PKCE required, S256 only" in web
    assert "skip_authorization -> skip_consent: its users are never asked" in web
    assert "HS256" in web and "never signs with a client secret" in web
    assert "post-logout redirect URIs not imported" in web
    assert "RS256 and its own key" in output
    assert "password grant: a legacy opt-in" in output
    assert "IMPLICIT_GRANT_ENABLED" in output


def test_no_pkce_relaxes_confidential_clients_only(dot):
    dot.add("conf", authorization_grant_type="authorization-code", redirect_uris="https://c.example.test/cb")
    dot.add("pub", client_type="public", authorization_grant_type="authorization-code",
            redirect_uris="https://p.example.test/cb")
    run("--no-pkce")
    assert not Application.objects.get(client_id="conf").require_pkce
    assert Application.objects.get(client_id="pub").require_pkce


def test_scope_option_sets_the_allowed_scopes(dot):
    dot.add("svc")
    run("--scope", "read")
    assert Application.objects.get(client_id="svc").allowed_scopes == "read"


def test_a_blank_dot_name_becomes_the_client_id(dot):
    dot.add("nameless", name="")
    output = run()
    assert Application.objects.get(client_id="nameless").name == "nameless"
    assert "named after its client id" in output


def test_owner_is_dropped_when_the_user_is_not_here_or_with_no_owners(dot):
    user = UserFactory()
    dot.add("gone", user_id=987654)
    dot.add("kept", user_id=user.pk)
    output = run("--no-owners")
    assert Application.objects.get(client_id="kept").owner is None
    assert "owner (user 987654) not kept" in output
    rows = [{"client_id": "other-db", "name": "X", "client_type": "public", "authorization_grant_type":
             "urn:ietf:params:oauth:grant-type:device_code", "redirect_uris": "", "client_secret": "",
             "skip_authorization": False, "user_id": user.pk}]
    [outcome] = import_rows(rows, ImportOptions(allowed_scopes="read"), same_database=False)
    assert Application.objects.get(client_id="other-db").owner is None
    assert "DOT's table is in another database" in " ".join(outcome.notes)


def test_each_import_is_audited_without_the_secret(dot):
    dot.add("svc")
    secret = printed_secret(run(), "svc")
    event = AuditEvent.objects.get(event="client_created", client_id="svc")
    assert event.details["source"] == "dot_import" and event.details["dot_grant_type"] == "client-credentials"
    assert secret not in json.dumps(event.details)


# --- secrets ---------------------------------------------------------------------------------------------


def test_a_hashed_dot_secret_is_replaced_by_a_new_one_printed_once(dot):
    dot_secret = "s" * 128
    dot.add("svc", client_secret=hashed(dot_secret))
    output = run()
    application = Application.objects.get(client_id="svc")
    secret = printed_secret(output, "svc")
    assert secret and application.check_secret(secret)
    assert crypto.is_digest(application.client_secret_digest)
    # Neither DOT's secret nor its stored hash authenticates the client.
    assert not application.check_secret(dot_secret) and not application.check_secret(hashed(dot_secret))
    assert "new secret: the DOT secret is hashed" in output
    # Re-running never prints it (or another one) again.
    assert "client_secret: " not in run()


def test_an_unhashed_dot_secret_is_kept(dot):
    dot.add("plain", client_secret=PLAIN_SECRET, hash_client_secret=False)
    output = run()
    application = Application.objects.get(client_id="plain")
    assert application.check_secret(PLAIN_SECRET) and application.client_secret_digest != PLAIN_SECRET
    assert printed_secret(output, "plain") is None and "secret kept" in output


@pytest.mark.parametrize("stored", [
    "pbkdf2_sha256$870000$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",
    "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
    "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
    "5f4dcc3b5aa765d61d8327deb882cf99",  # Django's unsalted MD5 hasher
])
def test_a_password_hash_is_never_taken_for_a_plaintext_secret(dot, stored):
    """The flag may be off for a secret saved hashed before: the hash would then be a credential to anyone
    who read DOT's table."""
    dot.add("flagged", client_secret=stored, hash_client_secret=False)
    output = run()
    application = Application.objects.get(client_id="flagged")
    assert not application.check_secret(stored)
    assert application.check_secret(printed_secret(output, "flagged"))
    assert looks_hashed(stored) and plaintext_secret({"hash_client_secret": False, "client_secret": stored}) is None


def test_a_short_unhashed_secret_is_not_kept(dot):
    dot.add("short", client_secret="too-short", hash_client_secret=False)
    output = run()
    application = Application.objects.get(client_id="short")
    assert not application.check_secret("too-short") and application.check_secret(printed_secret(output, "short"))
    assert "shorter than 32 characters" in output


@pytest.mark.parametrize("flag", [True, 1, "t", "true"])
def test_a_secret_is_plaintext_only_when_the_row_says_so(flag):
    assert plaintext_secret({"hash_client_secret": flag, "client_secret": PLAIN_SECRET}) is None
    assert plaintext_secret({"client_secret": PLAIN_SECRET}) is None  # DOT 2.0-2.3: every secret is hashed
    assert plaintext_secret({"hash_client_secret": False, "client_secret": PLAIN_SECRET}) == PLAIN_SECRET
    assert plaintext_secret({"hash_client_secret": "f", "client_secret": PLAIN_SECRET}) == PLAIN_SECRET


def test_a_public_client_never_gets_dots_secret(dot):
    dot.add("pub", client_type="public", authorization_grant_type="authorization-code",
            redirect_uris="https://p.example.test/cb", client_secret=PLAIN_SECRET, hash_client_secret=False)
    output = run()
    assert not Application.objects.get(client_id="pub").has_secret
    assert printed_secret(output, "pub") is None and "public client: DOT's secret for it is dropped" in output


def test_rotate_later_creates_confidential_clients_inactive_without_a_secret(dot):
    dot.add("svc")
    dot.add("plain", client_secret=PLAIN_SECRET, hash_client_secret=False)
    dot.add("pub", client_type="public", authorization_grant_type="authorization-code",
            redirect_uris="https://p.example.test/cb")
    output = run("--rotate-later")
    svc = Application.objects.get(client_id="svc")
    assert not svc.is_active and not svc.has_secret and "client_secret: " not in output
    # What can be kept needs no rotation.
    assert Application.objects.get(client_id="plain").is_active
    assert Application.objects.get(client_id="pub").is_active
    assert "3 imported (1 inactive until an admin rotates the secret)" in output


def test_a_client_waiting_for_rotation_cannot_authenticate(dot, client):
    dot_hash = hashed("s" * 128)
    dot.add("svc", client_secret=dot_hash)
    run("--rotate-later")
    for guess in ("x" * 43, dot_hash):
        response = client.post("/oauth/token/", "grant_type=client_credentials", content_type=FORM,
                               HTTP_AUTHORIZATION=basic_auth("svc", guess))
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_ticking_active_in_the_admin_gives_the_waiting_client_its_secret_once(dot, staff_client):
    dot.add("svc", name="Billing")
    run("--rotate-later")
    application = Application.objects.get(client_id="svc")
    form = {"name": "Billing", "client_type": "confidential", "grant_types": ["client_credentials"],
            "redirect_uris": "", "allowed_scopes": application.allowed_scopes, "default_scopes": "",
            "require_pkce": "on", "allowed_origins": "", "resource_audiences": "", "is_active": "on"}
    response = staff_client.post(f"{CLIENTS}{application.pk}/change/", form)
    assert response.status_code == 302 and "/secret/" in response["Location"]
    page = staff_client.get(response["Location"]).content.decode()
    secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    application.refresh_from_db()
    assert application.is_active and application.check_secret(secret)


def test_the_reactivate_action_refuses_a_client_without_a_secret(dot, staff_client):
    dot.add("svc", name="Billing")
    run("--rotate-later")
    application = Application.objects.get(client_id="svc")
    response = staff_client.post(CLIENTS, {"action": "reactivate", "_selected_action": [application.pk]},
                                 follow=True)
    application.refresh_from_db()
    assert not application.is_active
    assert "Not reactivated: Billing (no secret yet)" in response.content.decode()
    # Once rotated, it can be.
    staff_client.post(f"{CLIENTS}{application.pk}/rotate-secret/")
    staff_client.post(CLIENTS, {"action": "reactivate", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.is_active and application.has_secret


# --- idempotent, whole or not at all -------------------------------------------------------------------


def test_running_again_skips_the_client_ids_already_here(dot):
    dot.add("a")
    dot.add("b", authorization_grant_type="authorization-code", redirect_uris="https://b.example.test/cb")
    ApplicationFactory(client_id="b", name="Mine already")
    first = run()
    assert "1 imported, 1 already here, 0 skipped." in first
    assert "exists: b " in first and "a client with this id exists here: left as it is" in first
    assert Application.objects.get(client_id="b").name == "Mine already"  # left as it was
    digest = Application.objects.get(client_id="a").client_secret_digest
    second = run()
    assert "0 imported, 2 already here, 0 skipped." in second
    assert Application.objects.count() == 2
    assert Application.objects.get(client_id="a").client_secret_digest == digest
    assert AuditEvent.objects.filter(event="client_created").count() == 1


@pytest.mark.parametrize(("values", "problem"), [
    ({"authorization_grant_type": "magic-link"}, "unknown grant type 'magic-link'"),
    ({"authorization_grant_type": "openid-hybrid", "redirect_uris": "https://h.example.test/cb"},
     "OpenID Connect hybrid flow"),
    ({"client_type": "secretive"}, "unknown client type 'secretive'"),
    ({"client_type": "public"}, "A public client cannot use client_credentials"),
    ({"authorization_grant_type": "authorization-code", "redirect_uris": "http://shop.example.test/cb"},
     "http redirect URIs are allowed only on a loopback IP"),
    ({"authorization_grant_type": "authorization-code",
      "redirect_uris": "https://ok.example.test/cb https://*.example.test/cb"}, "Wildcards are not allowed"),
    ({"authorization_grant_type": "authorization-code", "redirect_uris": "https://ok.example.test/cb#frag"},
     "must not contain a fragment"),
    ({"authorization_grant_type": "authorization-code", "redirect_uris": ""}, "need at least one redirect URI"),
])
def test_a_row_that_cannot_be_carried_over_is_reported_and_skipped_whole(dot, values, problem):
    dot.add("bad", **values)
    dot.add("good")
    output = run()
    assert not Application.objects.filter(client_id="bad").exists()
    assert not AuditEvent.objects.filter(client_id="bad").exists()
    assert "skipped: bad" in output and problem in output
    assert "client_secret: " not in output.split("skipped: bad", 1)[1].split("imported:", 1)[0]
    assert Application.objects.filter(client_id="good").exists()
    assert "1 imported, 0 already here, 1 skipped." in output


def test_rows_sharing_a_client_id_are_all_skipped():
    table = DotTable(unique=False)  # a custom table without DOT's unique constraint
    table.add("twin", name="First")
    table.add("twin", name="Second")
    table.add("single")
    output = run()
    assert not Application.objects.filter(client_id="twin").exists()
    assert output.count("its client id appears 2 times in the table") == 2
    assert "1 imported, 0 already here, 2 skipped." in output


@pytest.mark.parametrize("client_id", ["has space", "tab\there", "x" * 101])
def test_a_client_id_we_cannot_use_is_skipped(client_id):
    table = DotTable(columns=DOT_3_COLUMNS.replace("varchar(100)", "varchar(200)"))
    table.add(client_id)
    output = run()
    assert not Application.objects.exists() and "1 skipped." in output


def test_unknown_scopes_skip_the_clients(dot):
    dot.add("svc")
    output = run("--scope", "read nosuchscope")
    assert not Application.objects.exists()
    assert "allowed_scopes: Unknown scopes: nosuchscope." in output


def test_no_scopes_skip_the_clients(dot):
    dot.add("svc")
    assert "no scopes: name the scopes" in run("--scope", "")
    assert not Application.objects.exists()


def test_a_failure_while_saving_leaves_nothing_of_the_client(dot, monkeypatch):
    from oauth_provider.clients import dot_import

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    dot.add("svc")
    monkeypatch.setattr(dot_import.audit, "record", broken)
    with pytest.raises(RuntimeError):
        run()
    assert not Application.objects.filter(client_id="svc").exists()


def test_dry_run_writes_nothing_and_prints_no_secret(dot):
    dot.add("svc")
    dot.add("bad", authorization_grant_type="magic-link")
    output = run("--dry-run")
    assert not Application.objects.exists() and not AuditEvent.objects.exists()
    assert "would import: svc" in output and "skipped: bad" in output and "client_secret: " not in output
    assert "1 would be imported, 0 already here, 1 skipped." in output


def test_json_output_carries_the_new_secrets(dot):
    dot.add("svc")
    dot.add("bad", authorization_grant_type="magic-link")
    document = json.loads(run("--json"))
    clients = {c["client_id"]: c for c in document["clients"]}
    assert document["counts"] == {"imported": 1, "would import": 0, "exists": 0, "skipped": 1}
    assert Application.objects.get(client_id="svc").check_secret(clients["svc"]["client_secret"])
    assert clients["bad"]["problems"] and "client_secret" not in clients["bad"]


def test_control_characters_from_the_table_are_escaped_in_the_output(dot):
    dot.add("svc", name="Evil\x1b[2Jname")
    output = run()
    assert "\x1b" not in output and '"Evil\\x1b[2Jname"' in output
    assert Application.objects.get(client_id="svc").name == "Evil\x1b[2Jname"


# --- where the rows come from ----------------------------------------------------------------------------


def test_a_dot_2_0_table_without_the_later_columns_imports():
    table = DotTable(columns=DOT_2_0_COLUMNS)
    table.add("old", authorization_grant_type="authorization-code", redirect_uris="https://o.example.test/cb")
    output = run()
    application = Application.objects.get(client_id="old")
    assert application.grant_types == [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN]
    assert printed_secret(output, "old")  # no hash_client_secret column: DOT 2.0 hashed every secret


def test_the_table_name_is_configurable():
    table = DotTable(name="accounts_oauthapplication")  # a swapped OAUTH2_PROVIDER_APPLICATION_MODEL
    table.add("custom")
    run("--table", "accounts_oauthapplication")
    assert Application.objects.filter(client_id="custom").exists()


def test_a_missing_table_is_an_error():
    with pytest.raises(CommandError, match="no table 'oauth2_provider_application' in database 'default'"):
        run()


def test_a_table_name_is_never_put_in_sql_unless_it_exists():
    with pytest.raises(CommandError, match="no table"):
        run("--table", 'oauth_provider_application"; DROP TABLE "oauth_provider_application')
    assert Application.objects.model._meta.db_table in connection.introspection.table_names()


def test_a_table_that_is_not_dots_is_an_error():
    with pytest.raises(CommandError, match="not a django-oauth-toolkit application table: it has no"):
        run("--table", Application._meta.db_table)


def test_an_unknown_database_alias_is_an_error():
    with pytest.raises(CommandError, match="unknown database alias 'dot'"):
        run("--database", "dot")
