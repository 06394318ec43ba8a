"""The complaints and surveys pages' URLs (included by aftersales/urls.py, app
``aftersales``); the owner's survey link ``survey/<token>/`` sits outside the projects."""

from django.urls import path

from . import complaints_views as v

C = "projects/<int:project_pk>/aftersales/complaints/"
S = "projects/<int:project_pk>/aftersales/surveys/"

urlpatterns = [
    path(C, v.ComplaintList.as_view(), name="complaint_list"),
    path(C + "archive/", v.ComplaintArchive.as_view(), name="complaint_archive"),
    path(C + "new/", v.complaint_create, name="complaint_create"),
    path(C + "analysis/", v.complaint_analysis, name="complaint_analysis"),
    path(C + "categories/", v.complaint_categories, name="complaint_categories"),
    path(C + "categories/<int:pk>/", v.complaint_category_edit, name="complaint_category_edit"),
    path(C + "<int:pk>/", v.complaint_detail, name="complaint_detail"),
    path(C + "<int:pk>/assign/", v.complaint_assign, name="complaint_assign"),
    path(C + "<int:pk>/answer/", v.complaint_answer, name="complaint_answer"),
    path(C + "<int:pk>/resolve/", v.complaint_resolve, name="complaint_resolve"),
    path(C + "<int:pk>/visit/", v.complaint_visit, name="complaint_visit"),
    path(C + "<int:pk>/repair/", v.complaint_repair, name="complaint_repair"),
    path(C + "<int:pk>/print/", v.complaint_print, name="complaint_print"),
    path(S, v.survey_list, name="survey_list"),
    path(S + "new/", v.survey_create, name="survey_create"),
    path(S + "templates/", v.survey_templates, name="survey_templates"),
    path(S + "templates/<int:pk>/", v.survey_template, name="survey_template"),
    path(
        S + "templates/<int:pk>/questions/",
        v.survey_question_save,
        name="survey_question_add",
    ),
    path(
        S + "templates/<int:pk>/questions/<int:question_pk>/",
        v.survey_question_save,
        name="survey_question_edit",
    ),
    path(
        S + "templates/<int:pk>/questions/<int:question_pk>/delete/",
        v.survey_question_delete,
        name="survey_question_delete",
    ),
    path(S + "<int:pk>/", v.survey_detail, name="survey_detail"),
    path(S + "<int:pk>/forms/", v.survey_forms, name="survey_forms"),
    path(S + "<int:pk>/report/", v.survey_report, name="survey_report"),
    path("survey/<str:token>/", v.survey_answer, name="survey_answer"),
]
