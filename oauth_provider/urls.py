"""The endpoints under the prefix you choose, e.g. ``path("oauth/", include("oauth_provider.urls"))``."""

from django.urls import path

from oauth_provider.views.authorize import authorize_view, consent_list_view, consent_revoke_view
from oauth_provider.views.device import DeviceAuthorizationView, device_verify_done_view, device_verify_view
from oauth_provider.views.end_session import end_session_confirm_view, end_session_view
from oauth_provider.views.introspect import IntrospectionView
from oauth_provider.views.metadata import jwks_view
from oauth_provider.views.par import PushedAuthorizationRequestView
from oauth_provider.views.register import ClientConfigurationView, RegistrationView
from oauth_provider.views.revoke import RevocationView
from oauth_provider.views.token import TokenView
from oauth_provider.views.userinfo import userinfo_view

app_name = "oauth_provider"

urlpatterns = [
    path("authorize/", authorize_view, name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("jwks/", jwks_view, name="jwks"),
    path("par/", PushedAuthorizationRequestView.as_view(), name="pushed_authorization_request"),
    path("revoke/", RevocationView.as_view(), name="revoke"),
    path("introspect/", IntrospectionView.as_view(), name="introspect"),
    path("register/", RegistrationView.as_view(), name="register"),
    path("register/<str:client_id>/", ClientConfigurationView.as_view(), name="client_configuration"),
    path("consents/", consent_list_view, name="consents"),
    path("consents/<int:consent_id>/revoke/", consent_revoke_view, name="consent_revoke"),
    path("device/", DeviceAuthorizationView.as_view(), name="device_authorization"),
    path("device/verify/", device_verify_view, name="device_verify"),
    path("device/verify/done/", device_verify_done_view, name="device_verify_done"),
    # OpenID Connect Core §5.3, RP-Initiated Logout 1.0 §2
    path("userinfo/", userinfo_view, name="userinfo"),
    path("logout/", end_session_view, name="end_session"),
    path("logout/confirm/", end_session_confirm_view, name="end_session_confirm"),
]
