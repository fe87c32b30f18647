"""The example's URLs: Django's admin, where django-celery-results lists task results."""
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
