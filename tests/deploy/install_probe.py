"""`python -m tests.deploy.install_probe`: what an install holds, as JSON, read through the app itself.

Run with an install's environment (DATABASE_URL, MEDIA_ROOT or AWS_*, SECRET_KEY, SALT_KEY). Prints projects with their
elements, documents and media (each image's bytes fetched through the app's own file view as its owner, hashed), and
the AI Image Generation settings (a saved key as a hash, never the key). The backup tests compare two installs with it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def probe() -> dict[str, Any]:
    from django.test import Client

    from imagegen.config import SPEC_BY_NAME
    from imagegen.saved_settings import load_saved
    from projects.models import Project

    projects = []
    for project in Project.objects.order_by("slug").select_related("owner", "cover"):
        client = Client()
        client.force_login(project.owner)
        media = []
        for item in project.media_items.order_by("sha256"):
            served = client.get(item.file_url())
            thumbnail = client.get(item.thumbnail_url())
            media.append(
                {
                    "title": item.title,
                    "origin": item.origin,
                    "sha256": item.sha256,
                    "size": [item.width, item.height, item.size_bytes],
                    "generation": item.generation,
                    "served": [
                        served.status_code,
                        hashlib.sha256(b"".join(served.streaming_content)).hexdigest(),
                    ]
                    if served.status_code == 200
                    else [served.status_code],
                    "thumbnail": thumbnail.status_code,
                }
            )
        projects.append(
            {
                "slug": project.slug,
                "title": project.title,
                "owner": project.owner.username,
                "members": sorted(project.memberships.values_list("user__username", "role")),
                "cover": project.cover.sha256 if project.cover else None,
                "elements": list(project.elements.order_by("name").values_list("kind", "name", "attributes")),
                "documents": list(project.documents.order_by("title").values_list("title", "body")),
                "media": media,
            }
        )
    saved = load_saved()
    key = saved.get(SPEC_BY_NAME["openai.api_key"])
    return {
        "projects": projects,
        "settings": {
            "daily_limit": saved.get(SPEC_BY_NAME["daily_limit"]),
            "openai_key_sha256": hashlib.sha256(key.encode()).hexdigest() if key else None,
            "openai_key_undecryptable": bool(getattr(key, "undecryptable", False)),
        },
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(probe(), sort_keys=True, default=str))
