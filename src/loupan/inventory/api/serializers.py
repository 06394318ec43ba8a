from rest_framework import serializers

from loupan.inventory.models import Company, PresalePermit, Project
from loupan.inventory.services import COMPANY_FIELDS, PERMIT_FIELDS, PROJECT_FIELDS


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", *COMPANY_FIELDS]


class PresalePermitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PresalePermit
        fields = ["id", "project", *PERMIT_FIELDS]
        read_only_fields = ["project"]
        validators = []  # uniqueness is checked by the service (one error shape)


class ProjectSerializer(serializers.ModelSerializer):
    permits = PresalePermitSerializer(many=True, read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Project
        fields = ["id", *PROJECT_FIELDS, "company_name", "permits", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "company" in self.fields:
            from loupan.inventory.models import Company as C

            self.fields["company"].queryset = C.objects.restrict(request.user, "view")
        for name in ("code", "name"):
            if name in self.fields:
                self.fields[name].validators = [
                    v
                    for v in self.fields[name].validators
                    if v.__class__.__name__ != "UniqueValidator"
                ]
