"""Tags that leave per-visitor markers in the donation page (see donations.page)."""

from django import template

from donations import page

register = template.Library()


@register.simple_tag
def checked(name: str, value: object) -> str:
    return page.slot_checked(name, str(value))


@register.simple_tag
def selected(name: str, value: object) -> str:
    return page.slot_selected(name, str(value))


@register.simple_tag
def visitor(name: str) -> str:
    return page.slot_value(name)


@register.filter
def errors_for(errors: dict, name: str) -> list[str]:
    return errors.get(name, []) if errors else []
