"""The model everything is scoped by (a project), named by ``settings.LOUPAN_PROJECT_MODEL``
as Django names the user model: core and the apps below inventory (accounts, approvals)
reach it without importing inventory."""

from django.apps import apps
from django.conf import settings


def project_model():
    return apps.get_model(settings.LOUPAN_PROJECT_MODEL)


def visible_projects(user):
    """The projects ``user`` belongs to (and may see), restricted as every read is."""
    return project_model().objects.restrict(user, "view")
