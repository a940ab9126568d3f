"""How API calls authenticate: a hashed per-user token, or a session that passed its code step."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from hub.access import two_factor_required
from hub.models import ApiToken
from hub.selectors import second_factor_owed
from hub.services import TOKENS_NEED_NO_SECOND_FACTOR, api_token_digest, token_use_refused

# How stale "last used" may get: it is written at most this often, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, looked up by the key's SHA-256: the database never
    holds a key that works. A revoked token, or one of a deactivated user, is a 401.

    An account that must use a second factor cannot use a token at all (a 403, audited):
    a token carries no second factor, so it would go round the code step its sessions pass.
    """

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is None:
            return None
        user, token = authenticated
        if two_factor_required(user=user):
            token_use_refused(token=token, ip_address=request.META.get("REMOTE_ADDR"))
            raise exceptions.PermissionDenied(TOKENS_NEED_NO_SECOND_FACTOR)
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return authenticated

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=api_token_digest(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return (token.user, token)


class VerifiedSessionAuthentication(SessionAuthentication):
    """The signed-in session, once it has passed the code step where one is owed (as the
    pages require in hub.middleware.TwoFactorMiddleware)."""

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is not None and second_factor_owed(user=authenticated[0]):
            raise exceptions.PermissionDenied(
                "This session has not passed its two-factor step: enter a code on the "
                "hub's sign-in page first."
            )
        return authenticated


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    """The session cookie, in the OpenAPI description (drf-spectacular's own extension
    matches only SessionAuthentication itself)."""

    target_class = VerifiedSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
