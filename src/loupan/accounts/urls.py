from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/language/", views.set_language, name="set_language"),
    path("users/", views.user_list, name="user_list"),
    path("users/locks/", views.lock_list, name="lock_list"),
    path("users/locks/lift/", views.lock_lift, name="lock_lift"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    path("users/<int:pk>/reset-password/", views.user_reset_password, name="user_reset_password"),
    path("users/<int:pk>/memberships/", views.membership_add, name="membership_add"),
    path("users/<int:pk>/history/", views.user_history, name="user_history"),
    path("memberships/<int:pk>/revoke/", views.membership_revoke, name="membership_revoke"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/<slug:code>/", views.role_detail, name="role_detail"),
]
