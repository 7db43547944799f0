"""The URLs of the Django project that test_fix_frameworks.py serves under django-cors-headers."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def items(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"items": []})
    response["X-Request-Id"] = "7"
    return response


urlpatterns = [path("api/items", items)]
