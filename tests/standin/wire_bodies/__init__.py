"""Every family's wire-format bodies as pure functions: the stand-in answers with them, and unit tests that
replay upstreams with `responses` build their canned answers from them, so the two fakes cannot drift.

    from tests.standin.wire_bodies import openai_image_body, openai_failure
    rsps.post(url, json=openai_image_body([png_b64], usage=openai_usage_for("gpt-image-2", "a fox")))
    status, body, headers = openai_failure("rate_limit", model="gpt-image-2", retry_after=3)

Failure names are the stand-in's (behaviour.FAILURES). `FAILURE_FOR_ERROR_CLASS` maps the product's error
classes (the shared provider suite's kinds) to them.
"""

from .a1111 import (
    a1111_exception,
    a1111_extras_body,
    a1111_failure,
    a1111_images_body,
    a1111_oom,
    a1111_progress_body,
    a1111_unauthorized,
    a1111_validation,
)
from .comfyui import (
    comfyui_execution_error_data,
    comfyui_failure,
    comfyui_history_entry,
    comfyui_history_error,
    comfyui_history_interrupted,
    comfyui_history_success,
    comfyui_image_ref,
    comfyui_no_prompt,
    comfyui_preview_frame,
    comfyui_prompt_accepted,
    comfyui_prompt_refused,
    comfyui_proxy_error,
    comfyui_queue_body,
    comfyui_status_data,
    comfyui_system_stats,
    comfyui_upload_body,
    comfyui_value_not_in_list,
    comfyui_ws_message,
    parse_preview_frame,
)
from .common import Reply
from .openai import (
    openai_cost,
    openai_error_body,
    openai_failure,
    openai_image_body,
    openai_invalid,
    openai_missing_key,
    openai_model_not_found,
    openai_models_body,
    openai_stream_event,
    openai_usage,
    openai_usage_for,
    sse,
)
from .openrouter import (
    openrouter_chat_body,
    openrouter_error,
    openrouter_failure,
    openrouter_image_endpoints_body,
    openrouter_image_models_body,
    openrouter_images_body,
    openrouter_key_body,
    openrouter_late_error_body,
    openrouter_missing_key,
    openrouter_models_body,
)

# The shared provider suite's error kinds → the stand-in failure that produces each.
FAILURE_FOR_ERROR_CLASS = {
    "content_policy": "content_policy",
    "rate_limited": "rate_limit",
    "quota_exhausted": "quota",
    "authentication": "unauthorized",
    "unavailable": "unavailable",
    "bad_request": "validation",
}

__all__ = [
    "FAILURE_FOR_ERROR_CLASS",
    "Reply",
    "a1111_exception",
    "a1111_extras_body",
    "a1111_failure",
    "a1111_images_body",
    "a1111_oom",
    "a1111_progress_body",
    "a1111_unauthorized",
    "a1111_validation",
    "comfyui_execution_error_data",
    "comfyui_failure",
    "comfyui_history_entry",
    "comfyui_history_error",
    "comfyui_history_interrupted",
    "comfyui_history_success",
    "comfyui_image_ref",
    "comfyui_no_prompt",
    "comfyui_preview_frame",
    "comfyui_prompt_accepted",
    "comfyui_prompt_refused",
    "comfyui_proxy_error",
    "comfyui_queue_body",
    "comfyui_status_data",
    "comfyui_system_stats",
    "comfyui_upload_body",
    "comfyui_value_not_in_list",
    "comfyui_ws_message",
    "openai_cost",
    "openai_error_body",
    "openai_failure",
    "openai_image_body",
    "openai_invalid",
    "openai_missing_key",
    "openai_model_not_found",
    "openai_models_body",
    "openai_stream_event",
    "openai_usage",
    "openai_usage_for",
    "openrouter_chat_body",
    "openrouter_error",
    "openrouter_failure",
    "openrouter_image_endpoints_body",
    "openrouter_image_models_body",
    "openrouter_images_body",
    "openrouter_key_body",
    "openrouter_late_error_body",
    "openrouter_missing_key",
    "openrouter_models_body",
    "parse_preview_frame",
    "sse",
]
