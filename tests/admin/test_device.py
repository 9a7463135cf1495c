"""Device codes in the admin: listed with status filters, read-only, never the digest or the user code."""

import pytest
from django.test import Client

from oauth_provider.models import DeviceCode, DeviceCodeStatus
from tests.factories import DeviceApplicationFactory
from tests.helpers.device import decide, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(user_client):
    app = DeviceApplicationFactory()
    grant = start(Client(), app)
    decide(user_client, grant["user_code"])
    return grant


def test_list_page_renders_with_a_status_filter(admin_client, grant):
    response = admin_client.get("/admin/oauth_provider/devicecode/")
    assert response.status_code == 200
    assert "?status__exact=approved" in response.content.decode()


def test_status_filter_selects_codes(admin_client, grant):
    start(Client(), DeviceApplicationFactory())
    approved = admin_client.get("/admin/oauth_provider/devicecode/?status__exact=approved")
    pending = admin_client.get("/admin/oauth_provider/devicecode/?status__exact=pending")
    assert approved.context["cl"].result_count == 1
    assert pending.context["cl"].result_count == 1


def test_change_page_shows_neither_digest_nor_user_code(admin_client, grant):
    code = DeviceCode.objects.get()
    page = admin_client.get(f"/admin/oauth_provider/devicecode/{code.pk}/change/").content.decode()
    assert code.status == DeviceCodeStatus.APPROVED
    assert code.device_code_digest not in page
    assert code.user_code not in page
    assert grant["user_code"] not in page
    assert grant["device_code"] not in page


def test_list_page_shows_no_user_code(admin_client, grant):
    page = admin_client.get("/admin/oauth_provider/devicecode/").content.decode()
    assert grant["user_code"].replace("-", "") not in page
    assert grant["user_code"] not in page


def test_device_codes_cannot_be_added_or_changed(admin_client, grant):
    code = DeviceCode.objects.get()
    assert admin_client.get("/admin/oauth_provider/devicecode/add/").status_code == 403
    admin_client.post(f"/admin/oauth_provider/devicecode/{code.pk}/change/", {"status": "pending"})
    assert DeviceCode.objects.get().status == DeviceCodeStatus.APPROVED
