"""Keeps `User.area_role` in step with the groups and permissions that grant the role.

Role checks read the role from the user's row (accounts.permissions), so any change of who holds an area permission
must reach that column in the same transaction: a user added to or removed from a group, a user's own permissions,
a group's permissions, or a group or permission deleted. Each change recomputes the role of the users it touches
(accounts.services).

An exception to the house rule against signals, on purpose: group and permission membership is Django's own data and
can change outside the portal's services (Django's auth APIs, data migrations, a shell), and a role column that fell
behind would keep a demoted or deactivated user's access. The signals only keep a derived column in step; the
business writes still go through `user_role_set` and `user_deactivate`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, pre_delete

from accounts.models import User

_PENDING = "_area_role_user_ids"


def _affected_user_ids(*, sender: Any, instance: Any, reverse: bool, pk_set: set[int] | None) -> set[int]:
    """The users whose role a change of `sender` (a through model) on `instance` can move."""
    if sender is Group.permissions.through:
        if not reverse:
            group_ids = {instance.pk}
        else:
            group_ids = set(pk_set or Group.objects.filter(permissions=instance).values_list("pk", flat=True))
        return set(User.groups.through.objects.filter(group_id__in=group_ids).values_list("user_id", flat=True))
    if not reverse:
        return {instance.pk}
    if pk_set is not None:
        return set(pk_set)
    field = "groups" if isinstance(instance, Group) else "user_permissions"
    return set(User.objects.filter(**{field: instance}).values_list("pk", flat=True))


def _role_sources_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    from accounts.services import user_roles_refresh

    if action == "pre_clear":
        # After the clear the members are gone; remember them now.
        setattr(instance, _PENDING, _affected_user_ids(sender=sender, instance=instance, reverse=reverse, pk_set=None))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        user_ids = instance.__dict__.pop(_PENDING, set())
    else:
        user_ids = _affected_user_ids(sender=sender, instance=instance, reverse=reverse, pk_set=pk_set)
    user_roles_refresh(user_ids=user_ids)
    if isinstance(instance, User):
        instance.area_role = User.objects.filter(pk=instance.pk).values_list("area_role", flat=True).get()


def _holders_before_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deleted group or permission takes its membership rows with it, without an m2m signal: note its holders."""
    if isinstance(instance, Group):
        user_ids = set(User.objects.filter(groups=instance).values_list("pk", flat=True))
    else:
        user_ids = set(User.objects.filter(groups__permissions=instance).values_list("pk", flat=True))
        user_ids |= set(User.objects.filter(user_permissions=instance).values_list("pk", flat=True))
    setattr(instance, _PENDING, user_ids)


def _holders_after_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    from accounts.services import user_roles_refresh

    user_roles_refresh(user_ids=instance.__dict__.pop(_PENDING, set()))


def connect() -> None:
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_role_sources_changed, sender=through, dispatch_uid=f"area-role:{through._meta.label}")
    for model in (Group, Permission):
        pre_delete.connect(_holders_before_delete, sender=model, dispatch_uid=f"area-role-pre:{model._meta.label}")
        post_delete.connect(_holders_after_delete, sender=model, dispatch_uid=f"area-role-post:{model._meta.label}")
