from . import access


class ProjectRoleBackend:
    """Lets ``user.has_perm("project.change", project)`` answer from project roles.

    It authenticates nobody (axes' backend in front of Django's ModelBackend does that);
    it only answers permission questions with the one check in ``access``.
    """

    def authenticate(self, request, **credentials):
        from django.contrib.auth.backends import ModelBackend

        return ModelBackend().authenticate(request, **credentials)

    def get_user(self, user_id):
        from .models import User

        try:
            user = User._default_manager.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if user.is_active else None

    def has_perm(self, user_obj, perm, obj=None):
        return access.has_perm(user_obj, perm, obj)
