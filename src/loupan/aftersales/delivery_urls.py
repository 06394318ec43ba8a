"""The delivery 交房 and repairs 维修 pages' URLs (included by aftersales/urls.py, app
``aftersales``)."""

from django.urls import path

from . import delivery_views as v

D = "projects/<int:project_pk>/aftersales/deliveries/"
R = "projects/<int:project_pk>/aftersales/repairs/"

urlpatterns = [
    path(D, v.batch_list, name="delivery_batch_list"),
    path(D + "new/", v.batch_create, name="delivery_batch_create"),
    path(D + "batches/<int:pk>/", v.batch_detail, name="delivery_batch_detail"),
    path(D + "batches/<int:pk>/refresh/", v.batch_refresh, name="delivery_batch_refresh"),
    path(D + "batches/<int:pk>/notices/", v.delivery_notices, name="delivery_notices"),
    path(D + "<int:pk>/", v.delivery_detail, name="delivery_detail"),
    path(D + "<int:pk>/book/", v.delivery_book, name="delivery_book"),
    path(D + "<int:pk>/inspect/", v.delivery_inspect, name="delivery_inspect"),
    path(D + "<int:pk>/handover/", v.delivery_handover, name="delivery_handover"),
    path(D + "defects/<int:pk>/photo/", v.defect_photo, name="delivery_defect_photo"),
    path(R, v.RepairList.as_view(), name="repair_list"),
    path(R + "new/", v.repair_create, name="repair_create"),
    path(R + "<int:pk>/", v.repair_detail, name="repair_detail"),
    path(R + "<int:pk>/assign/", v.repair_assign, name="repair_assign"),
    path(R + "<int:pk>/done/", v.repair_done, name="repair_done"),
    path(R + "<int:pk>/visit/", v.repair_visit, name="repair_visit"),
]
