from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def optional_include(context: template.Context, template_name: str) -> SafeString | str:
    """Include `template_name` with the current context if it exists, else render nothing.

    A hook for features that arrive later: e.g. the Media tab header includes
    "imagegen/_generate_button.html", which the image-generation feature provides.
    """
    try:
        included = get_template(template_name)
    except template.TemplateDoesNotExist:
        return ""
    request: Any = context.get("request")
    return included.render(context.flatten(), request)
