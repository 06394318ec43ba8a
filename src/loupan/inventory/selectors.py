"""Reads on projects, already restricted to what the user may see."""

from .models import Company, PresalePermit, Project


def project_list(*, user):
    return Project.objects.restrict(user, "view").select_related("company")


def company_list(*, user):
    return Company.objects.restrict(user, "view")


def permit_list(*, user, project=None):
    qs = PresalePermit.objects.restrict(user, "view").select_related("project")
    return qs.filter(project=project) if project is not None else qs
