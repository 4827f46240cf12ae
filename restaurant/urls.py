from django.urls import URLPattern, URLResolver

app_name = "restaurant"
urlpatterns: list[URLPattern | URLResolver] = []
