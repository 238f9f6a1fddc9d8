from django.conf import settings


def organisation(request):
    """The organisation's name on every page, without each view passing it."""
    return {"ORG_NAME": settings.ORG_NAME}
