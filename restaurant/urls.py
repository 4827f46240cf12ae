from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, URLResolver, path
from django.views.i18n import set_language

from restaurant import api, views

app_name = "restaurant"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard_index, name="index"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="restaurant:login"), name="logout"),
    path("language/", set_language, name="set-language"),
    path("branches/<int:branch_id>/", views.branch_dashboard, name="branch-dashboard"),
    path(
        "branches/<int:branch_id>/preparations/",
        api.BranchPreparationListApi.as_view(),
        name="branch-preparations",
    ),
    path("preparations/<int:preparation_id>/", api.PreparationUpdateApi.as_view(), name="preparation-update"),
]
