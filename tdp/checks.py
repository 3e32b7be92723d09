"""System checks (stable ids) that report unsafe or broken configuration at start-up."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_private_urls(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Warn when outbound requests may reach private networks in production."""
    if settings.TDP_ALLOW_PRIVATE_URLS and not settings.DEBUG:
        return [
            Warning(
                "TDP_ALLOW_PRIVATE_URLS is on: feeds and webhooks may reach internal addresses.",
                hint="Turn it on only when a feed or webhook server is on your private network.",
                id="tdp.W001",
            )
        ]
    return []


@register()
def check_service_urls(app_configs: Any, **kwargs: Any) -> list[Error]:
    """REDIS_URL and DATABASE_URL must name the services TDP supports."""
    errors = []
    if not settings.REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        errors.append(
            Error("REDIS_URL must start with redis://, rediss:// or unix://", id="tdp.E001")
        )
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        errors.append(Error(f"DATABASE_URL must point at PostgreSQL, not {engine}", id="tdp.E002"))
    return errors
