from django.conf import settings

from . import access


def loupan(request):
    """What every page needs: the current project, the user's permission codes on it
    (for the navigation) and whether this is the demo."""
    user = getattr(request, "user", None)
    project = getattr(request, "project", None)
    if user is None or not user.is_authenticated:
        return {"LOUPAN_DEMO": settings.LOUPAN_DEMO}
    project_obj = project if project else None
    return {
        "LOUPAN_DEMO": settings.LOUPAN_DEMO,
        "current_project": project_obj,
        "my_projects": getattr(request, "projects", []),
        "here_perms": access.perms_in(user, project_obj) if project_obj else set(),
        "any_perms": set().union(*access.grants(user).values()) if access.grants(user) else set(),
    }
