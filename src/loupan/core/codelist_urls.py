from django.urls import path

from . import codelist_views as v

app_name = "core"
urlpatterns = [
    path("projects/<int:project_pk>/code-lists/", v.code_lists, name="code_lists"),
]
