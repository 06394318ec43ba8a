from django.conf import settings
from rest_framework import serializers

from loupan.accounts import access
from loupan.accounts.models import Membership, Role, User
from loupan.accounts.services import USER_FIELDS
from loupan.core.scope import visible_projects


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label="用户名")
    password = serializers.CharField(
        label="密码", trim_whitespace=False, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(label="原密码", trim_whitespace=False)
    new_password = serializers.CharField(label="新密码", trim_whitespace=False)


class LanguageSerializer(serializers.Serializer):
    language = serializers.ChoiceField(label="界面语言", choices=settings.LANGUAGES)


class RoleSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    description = serializers.CharField(source="display_description", read_only=True)

    class Meta:
        model = Role
        fields = ["id", "code", "name", "description", "permissions", "is_system"]


class MembershipSerializer(serializers.ModelSerializer):
    role_code = serializers.SlugRelatedField(
        source="role", slug_field="code", queryset=Role.objects.all()
    )
    project_name = serializers.CharField(source="project.name", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "project", "project_name", "role_code", "created_at"]
        read_only_fields = ["created_at"]
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["project"].queryset = visible_projects(request.user)
            self.fields["user"].queryset = User.objects.restrict(request.user, "view").distinct()


class UserSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            *USER_FIELDS,
            "is_active",
            "is_demo",
            "must_change_password",
            "last_login",
            "date_joined",
            "memberships",
        ]
        read_only_fields = [
            "is_active",
            "is_demo",
            "must_change_password",
            "last_login",
            "date_joined",
        ]
        extra_kwargs = {"username": {"validators": []}, "employee_no": {"validators": []}}

    def to_representation(self, instance):
        """Only the roles in projects the caller may see (as on the user page): a role in
        another project would reveal that project."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and "memberships" in data:
            visible = self.context.get("_visible_project_ids")
            if visible is None:
                visible = set(visible_projects(request.user).values_list("pk", flat=True))
                self.context["_visible_project_ids"] = visible
            data["memberships"] = [m for m in data["memberships"] if m["project"] in visible]
        return data


class UserCreateSerializer(UserSerializer):
    project = serializers.IntegerField(label="项目", write_only=True)
    role_code = serializers.SlugRelatedField(
        label="角色", slug_field="code", queryset=Role.objects.all(), write_only=True
    )
    password = serializers.CharField(label="初始密码", write_only=True, trim_whitespace=False)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "project", "role_code", "password"]


class MeSerializer(UserSerializer):
    permissions = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "permissions"]

    def get_permissions(self, obj) -> dict[str, list[str]]:

        return {str(pid): sorted(codes) for pid, codes in access.grants(obj).items()}
