"""The admin's DPoP switch: ``dpop_bound_access_tokens`` (RFC 9449 §5.2) on the client form."""

import pytest

from oauth_provider.models import Application
from tests.helpers.admin import add_form

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oauth_provider/application/add/"


def test_the_add_form_offers_the_dpop_switch(staff_client):
    page = staff_client.get(ADD_URL).content.decode()
    assert 'name="dpop_bound_access_tokens"' in page


def test_a_client_created_as_dpop_bound(staff_client):
    staff_client.post(ADD_URL, add_form(dpop_bound_access_tokens="on"), follow=True)
    assert Application.objects.get(name="Billing service").dpop_bound_access_tokens is True


def test_dpop_binding_is_off_unless_ticked(staff_client):
    staff_client.post(ADD_URL, add_form(), follow=True)
    assert Application.objects.get(name="Billing service").dpop_bound_access_tokens is False
