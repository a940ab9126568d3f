"""Sign-ins, sign-outs and failed sign-ins go to the audit trail; a changed password, or
leaving a group (whose access profiles go with it), ends the user's API token."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from hub.choices import AuditAction
from hub.models import User
from hub.services import audit_record, tokens_revoke


def _ip(request):
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.LOGIN, ip_address=_ip(request))


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, ip_address=_ip(request))


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # The password is never recorded; only the name that was tried.
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        detail={"username": credentials.get("username", "")},
        ip_address=_ip(request),
        system="authentication",
    )


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        actor=None,
        action="login_locked_out",
        detail={"username": username or ""},
        ip_address=ip_address,
        system="authentication",
    )


@receiver(post_save, sender=User)
def revoke_tokens_on_password_change(sender, instance, created, **kwargs):
    # Django keeps the new raw password on the user from set_password() until this save has
    # finished, so this catches every change: the e-mailed link, the admin, changepassword.
    if not created and getattr(instance, "_password", None) is not None:
        tokens_revoke(
            users=[instance], reason="password changed", acting_user=None,
            system="password_change",
        )  # fmt: skip


@receiver(m2m_changed, sender=User.groups.through)
def revoke_tokens_on_leaving_a_group(sender, instance, action, reverse, pk_set, **kwargs):
    # A group can carry access profiles, so leaving one may lower access; the admin's user
    # form changes groups directly, not through the governance services.
    if action == "post_remove":
        users = User.objects.filter(pk__in=pk_set) if reverse else [instance]
    elif action == "pre_clear":
        users = instance.user_set.all() if reverse else [instance]
    else:
        return
    tokens_revoke(users=list(users), reason="left a group", acting_user=None, system="groups")
